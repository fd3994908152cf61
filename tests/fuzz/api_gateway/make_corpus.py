#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz/api_gateway (gateway_fuzz.cc): a few
API requests as the AWS CLI sends them (EFS rest-json, KMS JSON 1.1, EC2 and
STS query),
signed with a dummy SigV4 header. Byte 0 of each input is how many bytes the
target feeds the parser at a time, minus one (0x3f: 64).
Usage: tests/fuzz/api_gateway/make_corpus.py   (rewrites tests/fuzz/api_gateway/corpus/)"""
import os

FORM = "application/x-www-form-urlencoded"


def request(method, path, service, body=b"", ctype="application/json"):
    auth = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/%s/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=%s" % (service, "0" * 64))
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Date: 20261201T120000Z\r\nAuthorization: %s\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (method, path, auth, ctype, len(body)))
    return head.encode() + body


def kms(op, body):
    """A KMS JSON 1.1 request: POST / with X-Amz-Target TrentService.<op>."""
    r = request("POST", "/", "kms", body, "application/x-amz-json-1.1")
    return r.replace(b"\r\n\r\n", b"\r\nX-Amz-Target: TrentService." + op.encode() + b"\r\n\r\n", 1)


EFS = "elasticfilesystem"
SEEDS = {
    "create_file_system": request("POST", "/2015-02-01/file-systems", EFS,
                                  b'{"CreationToken":"fuzz-1","PerformanceMode":"generalPurpose",'
                                  b'"Tags":[{"Key":"Name","Value":"f"}]}'),
    "describe_file_systems": request("GET", "/2015-02-01/file-systems?MaxItems=10", EFS),
    "create_access_point": request("POST", "/2015-02-01/access-points", EFS,
                                   b'{"ClientToken":"c1","FileSystemId":"fs-0123456789abcdef0",'
                                   b'"PosixUser":{"Uid":1000,"Gid":1000},"RootDirectory":{"Path":"/ap"}}'),
    "create_mount_target": request("POST", "/2015-02-01/mount-targets", EFS,
                                   b'{"FileSystemId":"fs-0123456789abcdef0","SubnetId":"subnet-0123456789abcdef0"}'),
    "ec2_describe_subnets": request("POST", "/", "ec2", b"Action=DescribeSubnets&Version=2016-11-15"
                                    b"&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1", FORM),
    "sts_get_caller_identity": request("POST", "/", "sts", b"Action=GetCallerIdentity&Version=2011-06-15", FORM),
    "kms_create_key": kms("CreateKey", b'{"Description":"d","Tags":[{"TagKey":"a","TagValue":"b"}]}'),
    "kms_encrypt": kms("Encrypt", b'{"KeyId":"alias/aws/elasticfilesystem","Plaintext":"aGk=",'
                       b'"EncryptionContext":{"a":"b"}}'),
    "kms_decrypt": kms("Decrypt", b'{"CiphertextBlob":"AQEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=",'
                       b'"EncryptionContext":{"a":"b"}}'),
    "kms_list_aliases": kms("ListAliases", b'{"Limit":2,"Marker":"TGlzdEFsaWFzZXM6MQ=="}')
    + kms("CreateGrant", b'{"KeyId":"alias/aws/elasticfilesystem","GranteePrincipal":"p",'
          b'"Operations":["Decrypt"]}'),
    "two_pipelined": request("GET", "/2015-02-01/file-systems", EFS)
    + request("DELETE", "/2015-02-01/file-systems/fs-0123456789abcdef0", EFS),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\x3f" + data)


if __name__ == "__main__":
    main()
