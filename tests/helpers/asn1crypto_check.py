"""Strict, independent ASN.1 check with Debian's python3-asn1crypto (run with /usr/bin/python3).

Usage: asn1crypto_check.py KIND=FILE ...   KIND: cms | tst | tsresp | ocsp | crl | cert | tsreq
For each file: load it with the asn1crypto class of its kind, walk `.native` of every part (for a
TimeStampToken also the parsed TSTInfo inside the encapsulated content), and re-encode it with
`dump(force=True)` (asn1crypto's DER encoder), which must give the same bytes. Prints one JSON line
per file: {"file", "ok", "error"}.
"""
import json
import sys

from asn1crypto import cms, crl, ocsp, tsp, x509


def walk(value):
    # .native of the whole structure touches every part (and parses lazily-parsed fields).
    value.native
    return value


def check_signed_data(ci):
    walk(ci)
    sd = ci['content']
    eci = sd['encap_content_info']
    if eci['content'].native is not None and eci['content_type'].native == 'tst_info':
        tst = eci['content'].parsed
        walk(tst)
        reenc = tst.dump(force=True)
        raw = eci['content'].contents
        if reenc != raw:
            raise ValueError('TSTInfo is not DER (re-encoding differs)')
    for si in sd['signer_infos']:
        for attr in si['signed_attrs']:
            walk(attr)
        for attr in si['unsigned_attrs'] if si['unsigned_attrs'].native else []:
            walk(attr)
            if attr['type'].native == 'signature_time_stamp_token':
                for tok in attr['values']:
                    check_signed_data(tok)
    for c in sd['certificates'] if sd['certificates'].native else []:
        walk(c.chosen)


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
    obj = LOADERS[kind](data, strict=True)
    if kind in ('cms', 'tst'):
        check_signed_data(obj)
    elif kind == 'tsresp':
        walk(obj)
        if obj['time_stamp_token'].native is not None:
            check_signed_data(obj['time_stamp_token'])
    elif kind == 'ocsp':
        walk(obj)
        basic = obj['response_bytes']['response'].parsed
        walk(basic)
        if basic.dump(force=True) != obj['response_bytes']['response'].contents:
            raise ValueError('BasicOCSPResponse is not DER (re-encoding differs)')
    else:
        walk(obj)
    if obj.dump(force=True) != data:
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
