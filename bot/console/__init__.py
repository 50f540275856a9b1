"""The local console and the Slack Web API double: a product feature, not process wiring.

`invoicebot console` lets a newcomer use the bot without a Slack workspace: it signs the
requests Slack would send, dispatches them through the same Bolt app `serve` runs, and
prints what the app asked Slack to do. Tests and benchmarks use the same pieces. The rest
of `bot/` (settings, runtime, serve, HTTP server, scheduler start) only wires the process.

    app            `Console` and `run_console`: the session loop, choices, modals, :pay
    terminal       printing, reading lines, asking one modal question
    render         Web API calls and Block Kit messages as terminal text
    forms          modals as prompts, answers as ``view.state.values``
    mrkdwn         Slack text as plain text
    slack_requests signed slash commands, interactions and events, as Slack sends them
    slack_double   a Slack Web API (and Socket Mode) server on loopback that records every call
    settle         waiting until the app's background work is done
"""
