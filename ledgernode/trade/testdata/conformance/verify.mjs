// Independent check of tradeledger credentials with Digital Bazaar's W3C VC
// implementation (@digitalbazaar/vc, eddsa-jcs-2022 Data Integrity suite,
// Bitstring Status List) and jsonld.js in safe mode. Run by
// conformance_test.go: node verify.mjs INPUT.json prints one JSON result.
//
// The document loader fetches nothing: it serves the contexts it is given
// (tradeledger's and the W3C VC 2.0 context), status lists it is given,
// and resolves did:key DIDs -- only the trusted ones (the network's node
// keys) when asked to, which is how this implementation is given a trust
// list.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import jsonld from 'jsonld';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function loader({trustedOnly, lists = {}}) {
  return async url => {
    if(input.contexts[url]) {
      return {contextUrl: null, documentUrl: url, document: input.contexts[url]};
    }
    if(lists[url]) {
      return {contextUrl: null, documentUrl: url, document: lists[url]};
    }
    if(url.startsWith('did:key:')) {
      const [did, fragment] = url.split('#');
      if(trustedOnly && !input.trustedDIDs.includes(did)) {
        throw new Error(`${did} is not a trusted issuer`);
      }
      const mk = did.slice('did:key:'.length);
      const vm = {
        '@context': 'https://w3id.org/security/multikey/v1',
        id: `${did}#${mk}`, type: 'Multikey', controller: did, publicKeyMultibase: mk
      };
      if(fragment !== undefined) {
        if(fragment !== mk) {
          throw new Error(`${did} has no verification method #${fragment}`);
        }
        return {contextUrl: null, documentUrl: url, document: vm};
      }
      return {contextUrl: null, documentUrl: url, document: {
        '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
        id: did, verificationMethod: [vm], assertionMethod: [vm.id], authentication: [vm.id]
      }};
    }
    throw new Error(`refusing to fetch ${url}`);
  };
}

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});

async function check(doc, {trustedOnly, lists, now}) {
  const documentLoader = loader({trustedOnly, lists});
  const out = {};
  try {
    await jsonld.expand(structuredClone(doc), {documentLoader, safe: true});
    out.expanded = true;
  } catch(e) {
    out.expanded = false;
    out.expandError = e.message;
  }
  let status = null;
  const result = await vc.verifyCredential({
    credential: structuredClone(doc), suite, documentLoader, now,
    checkStatus: async options => {
      if(!lists) {
        return {verified: true};
      }
      const r = await checkStatus({...options, suite, documentLoader});
      status = {};
      for(const x of r.results || []) {
        status[x.credentialStatus.statusPurpose] = x.status;
      }
      return r;
    }
  });
  out.verified = result.verified === true;
  if(!out.verified) {
    const errs = [].concat(result.error || [], ...(result.results || []).map(r => r.error || []));
    out.error = errs.map(e => (e && e.errors ? e.errors.map(x => x.message).join('; ') : e && e.message)).join('; ') ||
      JSON.stringify(result).slice(0, 300);
  }
  out.status = status;
  return out;
}

const results = [];
for(const c of input.credentials) {
  results.push({name: c.name,
    trusted: await check(c.doc, {trustedOnly: true, now: input.now}),
    open: await check(c.doc, {trustedOnly: false, now: input.now})});
}
if(input.statusCheck) {
  const s = input.statusCheck;
  results.push({name: 'status', trusted: await check(s.doc, {trustedOnly: true, lists: s.lists, now: input.now})});
}
process.stdout.write(JSON.stringify(results));
