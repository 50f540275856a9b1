// Runs the official Popbill Node SDK (npm `popbill`, unmodified) against the invoicebot sandbox.
//
// The SDK has no setting for its hosts: it always calls https://auth.linkhub.co.kr and
// https://popbill-test.linkhub.co.kr (IsTest) through Node's `https.request`. The one change made
// here is to that transport: `https.request` is pointed at the sandbox's loopback HTTP port, with
// path, method, headers and body untouched. Everything else is the SDK as published.
//
// Env: POPBILL_NODE_MODULES (dir holding node_modules), SANDBOX_URL, LINK_ID, SECRET_KEY, CORP_NUM,
// RUN_ID (makes document keys unique). Prints one JSON object: {"hosts": [...], "calls": [...]}.
'use strict';
const path = require('path');
const http = require('http');
const https = require('https');

const target = new URL(process.env.SANDBOX_URL);
const hosts = new Set();
https.request = function (options, callback) {
  hosts.add(options.host);
  const redirected = Object.assign({}, options, {
    protocol: 'http:', host: target.hostname, hostname: target.hostname, port: Number(target.port),
  });
  delete redirected.agent;
  return http.request(redirected, callback);
};

const popbill = require(path.join(process.env.POPBILL_NODE_MODULES, 'node_modules', 'popbill'));
popbill.config({
  LinkID: process.env.LINK_ID,
  SecretKey: process.env.SECRET_KEY,
  IsTest: true,
  IPRestrictOnOff: true,
  UseStaticIP: false,
  UseLocalTimeYN: true,
  defaultErrorHandler: function (err) { console.error('defaultErrorHandler', JSON.stringify(err)); },
});
const CORP = process.env.CORP_NUM;
const RUN = process.env.RUN_ID || String(Date.now() % 100000);
const taxinvoiceService = popbill.TaxinvoiceService();
const cashbillService = popbill.CashbillService();
const closedownService = popbill.ClosedownService();

// One SDK call as a promise: {name, ok, result} or {name, ok: false, error}.
function call(name, invoke) {
  return new Promise(function (resolve) {
    const timer = setTimeout(function () { resolve({ name: name, ok: false, error: 'no answer in 15 s' }); }, 15000);
    invoke(
      function (result) { clearTimeout(timer); resolve({ name: name, ok: true, result: result }); },
      function (error) { clearTimeout(timer); resolve({ name: name, ok: false, error: error }); },
    );
  });
}

function today() {
  const d = new Date(Date.now() + 9 * 3600 * 1000);  // KST
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

function taxinvoice(key) {
  return {
    writeDate: today(), chargeDirection: '정과금', issueType: '정발행', purposeType: '영수', taxType: '과세',
    invoicerCorpNum: CORP, invoicerMgtKey: key, invoicerCorpName: '공급자 상호', invoicerCEOName: '대표자 성명',
    invoicerAddr: '공급자 주소', invoicerBizClass: '공급자 종목', invoicerBizType: '공급자 업태',
    invoicerContactName: '공급자 담당자명', invoicerEmail: 'test@test.com', invoicerTEL: '070-7070-0707',
    invoicerHP: '010-000-2222', invoicerSMSSendYN: false,
    invoiceeType: '사업자', invoiceeCorpNum: '8888888888', invoiceeCorpName: '공급받는자 상호',
    invoiceeCEOName: '공급받는자 대표자 성명', invoiceeAddr: '공급받는자 주소', invoiceeBizClass: '공급받는자 종목',
    invoiceeBizType: '공급받는자 업태', invoiceeContactName1: '공급받는자 담당자명', invoiceeEmail1: 'test@invoicee.com',
    invoiceeTEL1: '070-111-222', invoiceeHP1: '070-111-222',
    supplyCostTotal: '200000', taxTotal: '20000', totalAmount: '220000',
    modifyCode: null, serialNum: '123', cash: '', chkBill: '', note: '', credit: '',
    remark1: '비고1', remark2: '비고2', remark3: '비고3', kwon: 1, ho: 1,
    businessLicenseYN: false, bankBookYN: false,
    detailList: [
      { serialNum: 1, purchaseDT: today(), itemName: '품목명1번', spec: '규격', qty: '1', unitCost: '100000',
        supplyCost: '100000', tax: '10000', remark: '품목비고' },
      { serialNum: 2, purchaseDT: today(), itemName: '품목명2번', spec: '규격', qty: '1', unitCost: '100000',
        supplyCost: '100000', tax: '10000', remark: '품목비고' },
    ],
    addContactList: [{ serialNum: 1, contactName: '담당자1', email: 'test1@test.com' }],
  };
}

function cashbill(key) {
  return {
    mgtKey: key, tradeType: '승인거래', tradeOpt: '일반', franchiseCorpNum: CORP, franchiseCorpName: '가맹점 상호',
    franchiseCEOName: '가맹점 대표자 성명', franchiseAddr: '가맹점 주소', franchiseTEL: '01012341234',
    identityNum: '01011112222', customerName: '고객명', itemName: '상품명', orderNumber: '주문번호',
    email: 'test@test.com', hp: '010111222', smssendYN: false, taxationType: '과세', tradeUsage: '소득공제용',
    supplyCost: '10000', tax: '1000', serviceFee: '0', totalAmount: '11000',
  };
}

async function main() {
  const calls = [];
  const ti = 'NODE-TI-' + RUN;
  const cb = 'NODE-CB-' + RUN;
  const ts = taxinvoiceService;
  const cs = cashbillService;
  calls.push(await call('taxinvoice.registIssue', (ok, err) =>
    ts.registIssue(CORP, taxinvoice(ti), false, false, '즉시발행 메모', '', '', '', ok, err)));
  calls.push(await call('taxinvoice.getInfo', (ok, err) => ts.getInfo(CORP, popbill.MgtKeyType.SELL, ti, ok, err)));
  calls.push(await call('taxinvoice.getDetailInfo', (ok, err) =>
    ts.getDetailInfo(CORP, popbill.MgtKeyType.SELL, ti, ok, err)));
  calls.push(await call('taxinvoice.sendEmail', (ok, err) =>
    ts.sendEmail(CORP, popbill.MgtKeyType.SELL, ti, 'buyer@example.com', ok, err)));
  calls.push(await call('taxinvoice.cancelIssue', (ok, err) =>
    ts.cancelIssue(CORP, popbill.MgtKeyType.SELL, ti, '발행취소 메모', ok, err)));
  calls.push(await call('taxinvoice.delete', (ok, err) => ts.delete(CORP, popbill.MgtKeyType.SELL, ti, ok, err)));
  calls.push(await call('cashbill.registIssue', (ok, err) => cs.registIssue(CORP, cashbill(cb), '발행 메모', ok, err)));
  calls.push(await call('cashbill.getInfo', (ok, err) => cs.getInfo(CORP, cb, ok, err)));
  calls.push(await call('cashbill.cancelIssue', (ok, err) => cs.cancelIssue(CORP, cb, '취소 메모', ok, err)));
  calls.push(await call('cashbill.delete', (ok, err) => cs.delete(CORP, cb, ok, err)));
  calls.push(await call('closedown.checkCorpNum', (ok, err) =>
    closedownService.checkCorpNum(CORP, '1231212312', ok, err)));
  calls.push(await call('closedown.checkCorpNums', (ok, err) =>
    closedownService.checkCorpNums(CORP, ['6798700433', '1231212312', '2208875476'], ok, err)));
  // Beyond the twelve: the rest of what the bot relies on, through the same SDK.
  const filed = 'NODE-TN-' + RUN;
  calls.push(await call('taxinvoice.registIssue#2', (ok, err) =>
    ts.registIssue(CORP, taxinvoice(filed), false, false, '', '', '', '', ok, err)));
  calls.push(await call('taxinvoice.sendToNTS', (ok, err) => ts.sendToNTS(CORP, popbill.MgtKeyType.SELL, filed, ok, err)));
  calls.push(await call('taxinvoice.search', (ok, err) =>
    ts.search(CORP, popbill.MgtKeyType.SELL, 'W', today(), today(), ['3**', '6**'], ['N', 'M'], ['T', 'N', 'Z'], null,
      'D', 1, 1, '', '', '', '', '', '', ['N'], ['P', 'H'], null, '', ok, err)));
  calls.push(await call('cashbill.search', (ok, err) =>
    cs.search(CORP, 'R', today(), today(), ['3**'], ['N', 'C'], ['P', 'C'], ['N', 'B', 'T'], ['T', 'N'], '', 'D', 1, 10,
      '', '', ok, err)));
  // A filed receipt is revoked by a cancellation receipt: the test files DEMO-CB-002's twin first.
  const filedReceipt = process.env.FILED_CASHBILL_CONFIRM;
  if (filedReceipt) {
    calls.push(await call('cashbill.revokeRegistIssue', (ok, err) =>
      cs.revokeRegistIssue(CORP, 'NODE-RV-' + RUN, filedReceipt, process.env.FILED_CASHBILL_DATE, ok, err)));
  }
  const webCashbill = process.env.WEB_CASHBILL_ITEMKEY;
  if (webCashbill) {
    calls.push(await call('cashbill.assignMgtKey', (ok, err) =>
      cs.assignMgtKey(CORP, webCashbill, 'NODE-AS-' + RUN, ok, err)));
  }
  process.stdout.write(JSON.stringify({ hosts: Array.from(hosts).sort(), calls: calls }) + '\n');
}

main().catch(function (e) { console.error(e && e.stack || e); process.exit(1); });
