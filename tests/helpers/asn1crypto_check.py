"""Strict, independent ASN.1 check with Debian's python3-asn1crypto (run with /usr/bin/python3).

Usage: asn1crypto_check.py KIND=FILE ...   KIND: cms | tst | tsresp | ocsp | crl | cert | tsreq
For each file: load it with the asn1crypto class of its kind, walk `.native` of every part (for a
TimeStampToken also the parsed TSTInfo inside the encapsulated content), and re-encode it with
`dump(force=True)` (asn1crypto's DER encoder), which must give the same bytes. Prints one JSON line
per file: {"file", "ok", "error"}.
"""
import json
import sys

from asn1crypto import cms, core, crl, ocsp, tsp, x509


def walk(value):
    # .native of the whole structure touches every part (and parses lazily-parsed fields).
    value.native
    return value


def same(part, what):
    """asn1crypto's DER re-encoding of a freshly parsed part gives the same bytes."""
    raw = part.dump()
    if part.dump(force=True) != raw:
        raise ValueError('%s is not DER (re-encoding differs)' % what)


def check_signed_data(ci):
    """Every part of a ContentInfo(SignedData); a time-stamp token inside is checked on its own.

    (asn1crypto re-parses a nested token on every access, so `.native` / `dump(force=True)` of a CMS
    with its signature time-stamp as a whole is needlessly slow: the parts are checked instead.)
    """
    sd = ci['content']
    for k in ('version', 'digest_algorithms', 'encap_content_info'):
        walk(sd[k])
        same(sd[k], k)
    eci = sd['encap_content_info']
    if eci['content'].native is not None and eci['content_type'].native == 'tst_info':
        walk(eci['content'].parsed)
        raw = eci['content'].contents
        if tsp.TSTInfo.load(raw, strict=True).dump(force=True) != raw:
            raise ValueError('TSTInfo is not DER (re-encoding differs)')
    if sd['certificates'].native is not None:
        for c in sd['certificates']:
            walk(c.chosen)
        same(sd['certificates'], 'certificates')
    for si in sd['signer_infos']:
        for k in ('version', 'sid', 'digest_algorithm', 'signed_attrs', 'signature_algorithm', 'signature'):
            walk(si[k])
        same(si['signed_attrs'], 'signed attributes')
        if si['unsigned_attrs'].native is None:
            continue
        for attr in si['unsigned_attrs']:
            walk(attr['type'])
            for v in attr['values']:
                if attr['type'].native == 'signature_time_stamp_token':
                    tok = cms.ContentInfo.load(v.dump(), strict=True)
                    check_signed_data(tok)
                    same(tok, 'signature time-stamp token')
                else:
                    walk(v)


LOADERS = {
    'cms': cms.ContentInfo.load,
    'tst': cms.ContentInfo.load,
    'tsresp': tsp.TimeStampResp.load,
    'tsreq': tsp.TimeStampReq.load,
    'ocsp': ocsp.OCSPResponse.load,
    'crl': crl.CertificateList.load,
    'cert': x509.Certificate.load,
}


def check(kind, data):
    obj = LOADERS[kind](data, strict=True) if kind != 'tsresp' else None
    if kind in ('cms', 'tst'):
        check_signed_data(obj)
    elif kind == 'tsresp':
        # asn1crypto declares timeStampToken as required (RFC 3161: OPTIONAL): read the parts.
        seq = core.Sequence.load(data, strict=True)
        status = tsp.PKIStatusInfo.load(seq[0].dump(), strict=True)
        walk(status)
        same(status, 'PKIStatusInfo')
        if len(seq) > 1:
            tok = cms.ContentInfo.load(seq[1].dump(), strict=True)
            check_signed_data(tok)
            same(tok, 'TimeStampToken')
    elif kind == 'ocsp':
        walk(obj)
        if obj['response_bytes'].native is not None:
            raw = obj['response_bytes']['response'].contents
            walk(ocsp.BasicOCSPResponse.load(raw, strict=True))
            if ocsp.BasicOCSPResponse.load(raw, strict=True).dump(force=True) != raw:
                raise ValueError('BasicOCSPResponse is not DER (re-encoding differs)')
    else:
        walk(obj)
    # Re-encode a fresh parse (a CMS and a response holding a token: their parts were re-encoded above).
    if kind not in ('cms', 'tsresp') and LOADERS[kind](data, strict=True).dump(force=True) != data:
        raise ValueError('not DER: asn1crypto re-encoding differs from the input')


def main():
    for arg in sys.argv[1:]:
        kind, _, path = arg.partition('=')
        with open(path, 'rb') as f:
            data = f.read()
        try:
            check(kind, data)
            print(json.dumps({'file': path, 'ok': True}))
        except Exception as e:  # noqa: BLE001 - report every failure as data
            print(json.dumps({'file': path, 'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}))


main()
