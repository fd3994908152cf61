"""KMS through the AWS CLI against a running efs-local: the call sequence of a
Terraform aws_kms_key + aws_kms_alias apply/destroy cycle, encryption with a
context, a tampered blob, grants, paging, deletion carried out by the
emulator clock, and keys kept across a restart."""
import base64
import json
import os
import tempfile

import pytest

from conftest import aws_cli

ACCOUNT = "000000000000"


def kms(server, *args, check=True):
    return aws_cli(server, "kms", *args, check=check)


def error_code(p):
    """The AWS error code the CLI printed for a failed call."""
    assert p.returncode != 0, p.stdout
    # "An error occurred (NotFoundException) when calling ..."
    start = p.stderr.find("(")
    return p.stderr[start + 1:p.stderr.find(")", start)]


def blob_file(tmp_path, data, name="blob"):
    path = tmp_path / name
    path.write_bytes(data)
    return f"fileb://{path}"


def test_terraform_kms_key_and_alias_apply_destroy_sequence(server, tmp_path):
    policy = json.dumps({"Version": "2012-10-17", "Id": "tf", "Statement": [{
        "Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*", "Resource": "*"}]})
    # aws_kms_key create
    md = kms(server, "create-key", "--description", "tf key", "--key-usage", "ENCRYPT_DECRYPT",
             "--customer-master-key-spec", "SYMMETRIC_DEFAULT", "--policy", policy,
             "--no-bypass-policy-lockout-safety-check", "--no-multi-region",
             "--tags", "TagKey=Name,TagValue=tf", "TagKey=env,TagValue=test")["KeyMetadata"]
    key_id = md["KeyId"]
    assert md["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}"
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    kms(server, "enable-key-rotation", "--key-id", key_id)
    # aws_kms_key read (after create and on every refresh)
    d = kms(server, "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert (d["Description"], d["KeySpec"], d["MultiRegion"]) == ("tf key", "SYMMETRIC_DEFAULT", False)
    got = kms(server, "get-key-policy", "--key-id", key_id, "--policy-name", "default")
    assert json.loads(got["Policy"]) == json.loads(policy)
    rot = kms(server, "get-key-rotation-status", "--key-id", key_id)
    assert rot["KeyRotationEnabled"] is True
    tags = kms(server, "list-resource-tags", "--key-id", key_id)["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == {"Name": "tf", "env": "test"}
    # aws_kms_alias create + read
    kms(server, "create-alias", "--alias-name", "alias/tf-test", "--target-key-id", key_id)
    aliases = kms(server, "list-aliases", "--key-id", key_id)["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/tf-test"]
    assert aliases[0]["AliasArn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/tf-test"
    assert kms(server, "describe-key", "--key-id", "alias/tf-test")["KeyMetadata"]["KeyId"] == key_id
    # an update: description, tags, is_enabled, policy, rotation
    kms(server, "update-key-description", "--key-id", key_id, "--description", "tf key 2")
    kms(server, "tag-resource", "--key-id", key_id, "--tags", "TagKey=owner,TagValue=me")
    kms(server, "untag-resource", "--key-id", key_id, "--tag-keys", "env")
    tags = kms(server, "list-resource-tags", "--key-id", key_id)["Tags"]
    assert {t["TagKey"]: t["TagValue"] for t in tags} == {"Name": "tf", "owner": "me"}
    kms(server, "disable-key", "--key-id", key_id)
    assert kms(server, "describe-key", "--key-id", key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    kms(server, "enable-key", "--key-id", key_id)
    kms(server, "put-key-policy", "--key-id", key_id, "--policy-name", "default", "--policy", policy)
    kms(server, "disable-key-rotation", "--key-id", key_id)
    assert kms(server, "get-key-rotation-status", "--key-id", key_id)["KeyRotationEnabled"] is False
    # destroy: the alias, then the key (ScheduleKeyDeletion, then a read)
    kms(server, "delete-alias", "--alias-name", "alias/tf-test")
    sched = kms(server, "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7")
    assert sched["KeyState"] == "PendingDeletion" and sched["PendingWindowInDays"] == 7
    assert sched["KeyId"] == md["Arn"]
    d = kms(server, "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert d["KeyState"] == "PendingDeletion" and d["Enabled"] is False and "DeletionDate" in d
    assert error_code(kms(server, "describe-key", "--key-id", "alias/tf-test", check=False)) == \
        "NotFoundException"


def test_encrypt_decrypt_with_context_and_a_tampered_blob(server, tmp_path):
    key_id = kms(server, "create-key")["KeyMetadata"]["KeyId"]
    kms(server, "create-alias", "--alias-name", "alias/cli-crypto", "--target-key-id", key_id)
    secret = b"attack at dawn \x00\xff"
    enc = kms(server, "encrypt", "--key-id", "alias/cli-crypto",
              "--plaintext", blob_file(tmp_path, secret, "plain"),
              "--encryption-context", "purpose=test,fs=fs-1")
    assert enc["KeyId"].endswith(key_id)
    blob = base64.b64decode(enc["CiphertextBlob"])
    # Decrypt without KeyId: the blob names its key.
    dec = kms(server, "decrypt", "--ciphertext-blob", blob_file(tmp_path, blob),
              "--encryption-context", "fs=fs-1,purpose=test")
    assert base64.b64decode(dec["Plaintext"]) == secret
    assert dec["KeyId"] == enc["KeyId"]
    # Another context, no context, or one changed byte: refused.
    for ctx in (["--encryption-context", "fs=fs-2,purpose=test"], []):
        p = kms(server, "decrypt", "--ciphertext-blob", blob_file(tmp_path, blob), *ctx, check=False)
        assert error_code(p) == "InvalidCiphertextException"
    tampered = bytearray(blob)
    tampered[len(tampered) // 2] ^= 0x01
    p = kms(server, "decrypt", "--ciphertext-blob", blob_file(tmp_path, bytes(tampered)),
            "--encryption-context", "fs=fs-1,purpose=test", check=False)
    assert error_code(p) == "InvalidCiphertextException"
    # Disabled key: DisabledException; enabled again: works.
    kms(server, "disable-key", "--key-id", key_id)
    p = kms(server, "decrypt", "--ciphertext-blob", blob_file(tmp_path, blob),
            "--encryption-context", "fs=fs-1,purpose=test", check=False)
    assert error_code(p) == "DisabledException"
    kms(server, "enable-key", "--key-id", key_id)
    dk = kms(server, "generate-data-key", "--key-id", key_id, "--key-spec", "AES_256")
    assert len(base64.b64decode(dk["Plaintext"])) == 32
    back = kms(server, "decrypt", "--ciphertext-blob",
               blob_file(tmp_path, base64.b64decode(dk["CiphertextBlob"]), "dk"))
    assert back["Plaintext"] == dk["Plaintext"]
    assert len(base64.b64decode(kms(server, "generate-random", "--number-of-bytes", "64")["Plaintext"])) == 64


def test_alias_rules_and_errors(server):
    key_id = kms(server, "create-key")["KeyMetadata"]["KeyId"]
    p = kms(server, "create-alias", "--alias-name", "no-prefix", "--target-key-id", key_id, check=False)
    assert error_code(p) == "ValidationException"
    p = kms(server, "create-alias", "--alias-name", "alias/aws/mine", "--target-key-id", key_id, check=False)
    assert error_code(p) == "InvalidAliasNameException"
    kms(server, "create-alias", "--alias-name", "alias/cli-dup", "--target-key-id", key_id)
    p = kms(server, "create-alias", "--alias-name", "alias/cli-dup", "--target-key-id", key_id, check=False)
    assert error_code(p) == "AlreadyExistsException"
    p = kms(server, "describe-key", "--key-id", "00000000-0000-4000-8000-000000000000", check=False)
    assert error_code(p) == "NotFoundException"
    p = kms(server, "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "3",
            check=False)
    assert error_code(p) == "ValidationException"


def test_grants(server):
    key_id = kms(server, "create-key")["KeyMetadata"]["KeyId"]
    grantee = f"arn:aws:iam::{ACCOUNT}:role/efs"
    retiree = f"arn:aws:iam::{ACCOUNT}:role/retiree"
    g = kms(server, "create-grant", "--key-id", key_id, "--grantee-principal", grantee,
            "--retiring-principal", retiree, "--operations", "Decrypt", "GenerateDataKeyWithoutPlaintext",
            "--constraints", "EncryptionContextSubset={fs=fs-1}", "--name", "efs-grant")
    assert g["GrantId"] and g["GrantToken"]
    grants = kms(server, "list-grants", "--key-id", key_id)["Grants"]
    assert len(grants) == 1
    assert grants[0]["GranteePrincipal"] == grantee
    assert grants[0]["Operations"] == ["Decrypt", "GenerateDataKeyWithoutPlaintext"]
    assert grants[0]["Constraints"] == {"EncryptionContextSubset": {"fs": "fs-1"}}
    retirable = kms(server, "list-retirable-grants", "--retiring-principal", retiree)["Grants"]
    assert [x["GrantId"] for x in retirable] == [g["GrantId"]]
    kms(server, "retire-grant", "--grant-token", g["GrantToken"])
    assert kms(server, "list-grants", "--key-id", key_id)["Grants"] == []
    g2 = kms(server, "create-grant", "--key-id", key_id, "--grantee-principal", grantee,
             "--operations", "Encrypt")
    kms(server, "revoke-grant", "--key-id", key_id, "--grant-id", g2["GrantId"])
    p = kms(server, "revoke-grant", "--key-id", key_id, "--grant-id", g2["GrantId"], check=False)
    assert error_code(p) == "NotFoundException"


def test_list_keys_pages_with_limit_and_marker(fresh_server):
    ids = [kms(fresh_server, "create-key")["KeyMetadata"]["KeyId"] for _ in range(5)]
    seen, marker, pages = [], None, 0
    while True:
        args = ["list-keys", "--no-paginate", "--limit", "2"] + (["--marker", marker] if marker else [])
        page = kms(fresh_server, *args)
        pages += 1
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert (pages, seen) == (3, ids)
    p = kms(fresh_server, "list-keys", "--no-paginate", "--marker", "bm90LWEtbWFya2Vy", check=False)
    assert error_code(p) == "InvalidMarkerException"
    # The CLI's own paginator follows the markers too.
    assert [k["KeyId"] for k in kms(fresh_server, "list-keys", "--page-size", "2")["Keys"]] == ids


def test_deletion_by_clock_and_restart_keeps_keys(fresh_server, tmp_path):
    s = fresh_server
    kept = kms(s, "create-key", "--description", "kept")["KeyMetadata"]["KeyId"]
    doomed = kms(s, "create-key")["KeyMetadata"]["KeyId"]
    kms(s, "create-alias", "--alias-name", "alias/doomed", "--target-key-id", doomed)
    enc = kms(s, "encrypt", "--key-id", kept, "--plaintext", blob_file(tmp_path, b"durable", "p"),
              "--encryption-context", "a=b")
    kms(s, "schedule-key-deletion", "--key-id", doomed, "--pending-window-in-days", "7")
    mode = os.stat(s.data_dir / "kms-master.key").st_mode & 0o777
    assert mode == 0o600

    s.restart()
    d = kms(s, "describe-key", "--key-id", kept)["KeyMetadata"]
    assert d["Description"] == "kept" and d["KeyState"] == "Enabled"
    assert kms(s, "describe-key", "--key-id", "alias/doomed")["KeyMetadata"]["KeyState"] == "PendingDeletion"
    dec = kms(s, "decrypt", "--ciphertext-blob",
              blob_file(tmp_path, base64.b64decode(enc["CiphertextBlob"])), "--encryption-context", "a=b")
    assert base64.b64decode(dec["Plaintext"]) == b"durable"

    s.advance_clock(6 * 86400)
    assert kms(s, "describe-key", "--key-id", doomed)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    s.advance_clock(86400 + 5)
    assert error_code(kms(s, "describe-key", "--key-id", doomed, check=False)) == "NotFoundException"
    assert [k["KeyId"] for k in kms(s, "list-keys")["Keys"]] == [kept]
    assert kms(s, "list-aliases")["Aliases"] == []
    s.restart()
    assert [k["KeyId"] for k in kms(s, "list-keys")["Keys"]] == [kept]
