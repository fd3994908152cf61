"""Issue 9: the API answers exactly as AWS gives them, seen through real clients
(boto3 with the repo's model, the AWS CLI; the JS SDK's part is in js/efs.test.mjs)."""
import json
import re
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server, aws_cli, make_client, new_fs, wait_state

LONG_ID = re.compile(r"^fs-[0-9a-f]{17}$")


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def client(server, service="efs", region="us-east-1", account="test"):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id=account, aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    """A server whose transient states last 2 s, so a test can see them."""
    s = Server(tmp_path_factory.mktemp("slow") / "data", state_delay_ms=2000).start()
    yield s
    s.stop()


# 1. SHORT_ID -------------------------------------------------------------

def test_short_id_preference_is_refused_and_ids_stay_long(efs):
    with pytest.raises(ClientError) as ei:
        efs.put_account_preferences(ResourceIdType="SHORT_ID")
    code, status, message = err(ei)
    assert (code, status) == ("BadRequest", 400)
    assert "short" in message.lower() and "Contact Amazon Web Services support" in message
    pref = efs.describe_account_preferences()["ResourceIdPreference"]
    assert pref["ResourceIdType"] == "LONG_ID"
    assert LONG_ID.match(efs.create_file_system(CreationToken=str(uuid.uuid4()))["FileSystemId"])


# 2. the 24-hour message --------------------------------------------------

def test_throughput_cooldown_message_is_iso8601(efs):
    fid = new_fs(efs)
    efs.update_file_system(FileSystemId=fid, ThroughputMode="elastic")
    with pytest.raises(ClientError) as ei:
        efs.update_file_system(FileSystemId=fid, ThroughputMode="bursting")
    code, status, message = err(ei)
    assert (code, status) == ("TooManyRequests", 429)
    assert re.search(r"Wait until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ UTC and try again\.$", message), message


# 3. leaving elastic with an Archive rule ---------------------------------

def test_update_refuses_leaving_elastic_while_archive_rule(efs):
    fid = new_fs(efs, ThroughputMode="elastic")
    efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[
        {"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToArchive": "AFTER_90_DAYS"}])
    for kw in ({"ThroughputMode": "bursting"},
               {"ThroughputMode": "provisioned", "ProvisionedThroughputInMibps": 10}):
        with pytest.raises(ClientError) as ei:
            efs.update_file_system(FileSystemId=fid, **kw)
        code, status, message = err(ei)
        assert (code, status) == ("BadRequest", 400)
        assert "TransitionToArchive" in message and "ThroughputMode" in message
    assert efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["ThroughputMode"] == "elastic"
    # PutLifecycleConfiguration refuses the same combination with the same code.
    other = new_fs(efs)
    with pytest.raises(ClientError) as ei:
        efs.put_lifecycle_configuration(FileSystemId=other,
                                        LifecyclePolicies=[{"TransitionToArchive": "AFTER_90_DAYS"}])
    code, _, message = err(ei)
    assert code == "BadRequest" and "does not support TransitionToArchive" in message
    # Without the Archive rule the change is allowed.
    efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[])
    assert efs.update_file_system(FileSystemId=fid, ThroughputMode="bursting")["ThroughputMode"] == "bursting"


# 4. the lockout safety check ---------------------------------------------

def _policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_file_system_policy_lockout_safety_check(server):
    efs = client(server, account="444455556666")
    fid = new_fs(efs)
    arn = f"arn:aws:elasticfilesystem:us-east-1:444455556666:file-system/{fid}"
    lockouts = [
        {"Effect": "Deny", "Principal": "*", "Action": "elasticfilesystem:PutFileSystemPolicy"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
         "Action": "elasticfilesystem:*", "Resource": arn},
        {"Effect": "Deny", "Principal": {"AWS": "444455556666"},
         "NotAction": "elasticfilesystem:ClientMount"},
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    ]
    for st in lockouts:
        with pytest.raises(ClientError) as ei:
            efs.put_file_system_policy(FileSystemId=fid, Policy=_policy(st))
        code, status, message = err(ei)
        assert (code, status) == ("InvalidPolicyException", 400), st
        assert "BypassPolicyLockoutSafetyCheck" in message
    with pytest.raises(ClientError):
        efs.describe_file_system_policy(FileSystemId=fid)  # nothing was stored
    fine = [
        # Grants nothing to the caller: the root user keeps its own permissions.
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
         "Action": "elasticfilesystem:PutFileSystemPolicy"},
        {"Effect": "Deny", "Principal": "*", "Action": "elasticfilesystem:ClientWrite"},
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "*",
         "Resource": "arn:aws:elasticfilesystem:us-east-1:444455556666:file-system/fs-0123456789abcdef0"},
    ]
    for st in fine:
        efs.put_file_system_policy(FileSystemId=fid, Policy=_policy(st))
        assert json.loads(efs.describe_file_system_policy(FileSystemId=fid)["Policy"])["Statement"] == [st]
    # The bypass applies a lockout policy on purpose.
    efs.put_file_system_policy(FileSystemId=fid, Policy=_policy(lockouts[0]),
                               BypassPolicyLockoutSafetyCheck=True)
    assert "PutFileSystemPolicy" in efs.describe_file_system_policy(FileSystemId=fid)["Policy"]


# 5. pagination -----------------------------------------------------------

# operation, input token, output token, limit member, items member, documented maximum
LISTS = {
    "DescribeFileSystems": ("Marker", "NextMarker", "MaxItems", "FileSystems", 100),
    "DescribeMountTargets": ("Marker", "NextMarker", "MaxItems", "MountTargets", 100),
    "DescribeTags": ("Marker", "NextMarker", "MaxItems", "Tags", 100),
    "DescribeAccessPoints": ("NextToken", "NextToken", "MaxResults", "AccessPoints", 100),
    "DescribeReplicationConfigurations": ("NextToken", "NextToken", "MaxResults", "Replications", 100),
    "ListTagsForResource": ("NextToken", "NextToken", "MaxResults", "Tags", 100),
    "DescribeAccountPreferences": ("NextToken", "NextToken", "MaxResults", None, 100),
}


def walk(efs, op, limit, **filters):
    """Every item of a list call, page by page; checks each page's size."""
    in_tok, out_tok, limit_member, items, maximum = LISTS[op]
    call = getattr(efs, re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower())
    got, token, pages = [], None, 0
    while True:
        kw = dict(filters, **{limit_member: limit})
        if token:
            kw[in_tok] = token
        page = call(**kw)
        batch = page[items] if items else [page["ResourceIdPreference"]]
        assert len(batch) <= min(limit, maximum), (op, len(batch))
        got += batch
        pages += 1
        token = page.get(out_tok)
        if not token:
            return got, pages
        assert len(batch) == min(limit, maximum), (op, len(batch))  # only the last page is short


def test_every_list_operation_pages_with_its_documented_maximum(server):
    efs = client(server, account="111122223333")
    ec2 = client(server, "ec2", account="111122223333")
    model_lists = {name for name, op in efs.meta.service_model._service_description["operations"].items()
                   if any(m in ("MaxItems", "MaxResults")
                          for m in efs.meta.service_model.operation_model(name).input_shape.members)}
    assert model_lists == set(LISTS)

    tokens = [f"page-{i}" for i in range(105)]
    ids = [efs.create_file_system(CreationToken=t)["FileSystemId"] for t in tokens]
    for limit in (1001, 100, 7):
        fss, pages = walk(efs, "DescribeFileSystems", limit)
        assert sorted(f["FileSystemId"] for f in fss) == sorted(ids), limit
        assert pages == -(-105 // min(limit, 100))
    first = ids[0]
    wait_state(lambda: efs.describe_file_systems(FileSystemId=first)["FileSystems"][0]["LifeCycleState"],
               "available")

    aps = [efs.create_access_point(FileSystemId=first, ClientToken=f"ap-{i}")["AccessPointId"]
           for i in range(120)]
    for limit in (500, 100, 13):
        got, pages = walk(efs, "DescribeAccessPoints", limit, FileSystemId=first)
        assert sorted(a["AccessPointId"] for a in got) == sorted(aps)
        assert pages == -(-120 // min(limit, 100))
        got, _ = walk(efs, "DescribeAccessPoints", limit)  # the account's, unfiltered
        assert sorted(a["AccessPointId"] for a in got) == sorted(aps)

    tags = [{"Key": f"k{i:02}", "Value": str(i)} for i in range(50)]
    efs.tag_resource(ResourceId=first, Tags=tags)
    for limit in (1000, 100, 7):
        got, _ = walk(efs, "DescribeTags", limit, FileSystemId=first)
        assert sorted(t["Key"] for t in got) == [t["Key"] for t in tags]
        got, _ = walk(efs, "ListTagsForResource", limit, ResourceId=first)
        assert sorted(t["Key"] for t in got) == [t["Key"] for t in tags]

    subnets = ec2.describe_subnets()["Subnets"]
    zones = {}
    for s in subnets:
        zones.setdefault(s["AvailabilityZone"], s["SubnetId"])
    mts = [efs.create_mount_target(FileSystemId=first, SubnetId=sn)["MountTargetId"]
           for sn in list(zones.values())[:3]]
    assert len(mts) >= 2
    for limit in (1000, 1):
        got, pages = walk(efs, "DescribeMountTargets", limit, FileSystemId=first)
        assert sorted(m["MountTargetId"] for m in got) == sorted(mts)
        assert pages == (1 if limit > 1 else len(mts))

    sources = ids[1:4]
    for s in sources:
        wait_state(lambda: efs.describe_file_systems(FileSystemId=s)["FileSystems"][0]["LifeCycleState"],
                   "available")
        efs.create_replication_configuration(SourceFileSystemId=s, Destinations=[{"Region": "us-west-2"}])
    for limit in (1000, 1):
        got, pages = walk(efs, "DescribeReplicationConfigurations", limit)
        assert sorted(r["SourceFileSystemId"] for r in got) == sorted(sources)
        assert pages == (1 if limit > 1 else 3)

    got, pages = walk(efs, "DescribeAccountPreferences", 1000)
    assert pages == 1 and got[0]["ResourceIdType"] == "LONG_ID"


def test_tokens_are_bound_to_the_call_that_issued_them(server):
    efs = client(server, account="222233334444")
    for i in range(3):
        efs.create_file_system(CreationToken=f"bind-{i}")
    a, b = new_fs(efs), new_fs(efs)
    for fs in (a, b):
        for i in range(3):
            efs.create_access_point(FileSystemId=fs, ClientToken=f"{fs}-{i}")
    marker = efs.describe_file_systems(MaxItems=1)["NextMarker"]
    # Its own call continues from it...
    nxt = efs.describe_file_systems(MaxItems=1, Marker=marker)
    assert len(nxt["FileSystems"]) == 1 and nxt["Marker"] == marker
    # ...another list call or other filters refuse it.
    for call in (lambda: efs.describe_mount_targets(FileSystemId=a, Marker=marker),
                 lambda: efs.describe_tags(FileSystemId=a, Marker=marker),
                 lambda: efs.describe_file_systems(CreationToken="bind-1", Marker=marker),
                 lambda: efs.describe_file_systems(Marker="p0000000000000001")):
        with pytest.raises(ClientError) as ei:
            call()
        assert err(ei)[:2] == ("BadRequest", 400)
    token = efs.describe_access_points(FileSystemId=a, MaxResults=1)["NextToken"]
    assert len(efs.describe_access_points(FileSystemId=a, MaxResults=1, NextToken=token)["AccessPoints"]) == 1
    with pytest.raises(ClientError) as ei:
        efs.describe_access_points(FileSystemId=b, MaxResults=1, NextToken=token)
    assert err(ei)[:2] == ("BadRequest", 400)
    with pytest.raises(ClientError) as ei:
        efs.describe_replication_configurations(NextToken=token)
    assert err(ei)[:2] == ("BadRequest", 400)


# 6. Regions and partitions -----------------------------------------------

def test_unknown_region_is_refused_and_partitions_shape_arns(server):
    bad = client(server, region="xx-nowhere-9")
    with pytest.raises(ClientError) as ei:
        bad.create_file_system(CreationToken="nowhere")
    code, status, message = err(ei)
    assert (code, status) == ("InvalidSignatureException", 403) and "xx-nowhere-9" in message
    with pytest.raises(ClientError) as ei:
        client(server, "ec2", region="xx-nowhere-9").describe_vpcs()
    assert err(ei)[0] == "AuthFailure" and "xx-nowhere-9" in err(ei)[2]
    with pytest.raises(ClientError) as ei:
        client(server, "sts", region="xx-nowhere-9").get_caller_identity()
    assert "xx-nowhere-9" in err(ei)[2]

    for region, partition in (("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"),
                              ("eu-central-2", "aws")):
        efs = client(server, region=region, account="333344445555")
        fs = efs.create_file_system(CreationToken=f"part-{region}")
        assert fs["FileSystemArn"] == (f"arn:{partition}:elasticfilesystem:{region}:333344445555:"
                                       f"file-system/{fs['FileSystemId']}")
        enc = efs.create_file_system(CreationToken=f"enc-{region}", Encrypted=True)
        assert enc["KmsKeyId"].startswith(f"arn:{partition}:kms:{region}:333344445555:")

    efs = client(server)
    src = new_fs(efs)
    for region in ("xx-nowhere-9", "cn-north-1"):
        with pytest.raises(ClientError) as ei:
            efs.create_replication_configuration(SourceFileSystemId=src,
                                                 Destinations=[{"Region": region}])
        code, status, message = err(ei)
        assert (code, status) == ("ValidationException", 400) and region in message
    assert efs.describe_file_systems(FileSystemId=src)["FileSystems"][0]["LifeCycleState"] == "available"


# 7-9. mount targets and updates, on a server whose states last 2 s --------

def test_security_groups_of_a_creating_mount_target(slow_server):
    efs, ec2 = make_client(slow_server), make_client(slow_server, "ec2")
    fid = new_fs(efs)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    sg = ec2.create_security_group(GroupName="nfs", Description="nfs", VpcId=vpc)["GroupId"]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=subnet)
    assert mt["LifeCycleState"] == "creating"
    mid = mt["MountTargetId"]
    assert len(efs.describe_mount_target_security_groups(MountTargetId=mid)["SecurityGroups"]) == 1
    efs.modify_mount_target_security_groups(MountTargetId=mid, SecurityGroups=[sg])
    assert efs.describe_mount_target_security_groups(MountTargetId=mid)["SecurityGroups"] == [sg]
    assert efs.describe_mount_targets(MountTargetId=mid)["MountTargets"][0]["LifeCycleState"] == "creating"
    # 9: the network interface is described as AWS describes it.
    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[mt["NetworkInterfaceId"]])
    assert eni["NetworkInterfaces"][0]["Description"] == f"Mount target {mid} for file system {fid}"
    efs.delete_mount_target(MountTargetId=mid)
    with pytest.raises(ClientError) as ei:
        efs.describe_mount_target_security_groups(MountTargetId=mid)
    assert err(ei)[:2] == ("IncorrectMountTargetState", 409)


def test_update_file_system_is_updating_then_available(slow_server):
    efs = make_client(slow_server)
    fid = new_fs(efs)
    up = efs.update_file_system(FileSystemId=fid, ThroughputMode="elastic")
    assert up["LifeCycleState"] == "updating" and up["ThroughputMode"] == "elastic"
    assert efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["LifeCycleState"] == "updating"
    wait_state(lambda: efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["LifeCycleState"],
               "available")


# 10. EC2 x-amzn-RequestId ------------------------------------------------

def test_ec2_responses_carry_x_amzn_request_id(ec2):
    for call in (ec2.describe_vpcs, ec2.describe_availability_zones):
        meta = call()["ResponseMetadata"]
        assert meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]
    with pytest.raises(ClientError) as ei:
        ec2.describe_subnets(SubnetIds=["subnet-0123456789abcdef0"])
    meta = ei.value.response["ResponseMetadata"]
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == meta["RequestId"]


# 11. STS -----------------------------------------------------------------

def test_sts_get_caller_identity(server):
    me = client(server, "sts", account="123456789012").get_caller_identity()
    assert me["Account"] == "123456789012"
    assert me["UserId"] == "123456789012"
    assert me["Arn"] == "arn:aws:iam::123456789012:root"
    assert re.match(r"^[0-9a-f-]{36}$", me["ResponseMetadata"]["RequestId"])
    cn = client(server, "sts", region="cn-north-1", account="123456789012").get_caller_identity()
    assert cn["Arn"] == "arn:aws-cn:iam::123456789012:root"
    cli = aws_cli(server, "sts", "get-caller-identity")
    assert cli["Account"] == "000000000000" and cli["Arn"] == "arn:aws:iam::000000000000:root"
    with pytest.raises(ClientError) as ei:
        client(server, "sts").get_session_token()
    code, status, message = err(ei)
    assert (code, status) == ("InvalidAction", 400) and "GetCallerIdentity" in message


# 12. services efs-local does not emulate ---------------------------------

@pytest.mark.parametrize("service,call,name", [
    ("dynamodb", lambda c: c.list_tables(), "DynamoDB"),
    ("s3", lambda c: c.list_buckets(), "S3"),
    ("sqs", lambda c: c.list_queues(), "SQS"),
    ("events", lambda c: c.list_rules(), "EventBridge"),
    ("secretsmanager", lambda c: c.list_secrets(), "Secrets Manager"),
    ("sns", lambda c: c.list_topics(), "SNS"),
    ("logs", lambda c: c.describe_log_groups(), "CloudWatch Logs"),
])
def test_services_not_emulated_say_so(server, service, call, name):
    with pytest.raises(ClientError) as ei:
        call(client(server, service))
    code, status, message = err(ei)
    assert status == 400, message
    assert code == "ServiceNotEmulated", (code, message)
    assert f"does not emulate {name}" in message
    headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("server") != "AmazonEC2"


# KmsKeyId resolves through the emulated KMS -------------------------------

def test_kms_key_id_is_resolved_to_the_key_arn_and_unusable_keys_are_refused(server):
    """CreateFileSystem takes a key ID, key ARN, alias name or alias ARN and
    always answers the key ARN; with no KmsKeyId the AWS-managed key behind
    alias/aws/elasticfilesystem is used. A key that does not exist, is disabled
    or is pending deletion is refused (BadRequest)."""
    account = "444455556666"
    efs = client(server, account=account)
    kms = client(server, "kms", account=account)
    key = kms.create_key(Description="for efs")["KeyMetadata"]
    key_id, key_arn = key["KeyId"], key["Arn"]
    assert key_arn == f"arn:aws:kms:us-east-1:{account}:key/{key_id}"
    kms.create_alias(AliasName="alias/app-data", TargetKeyId=key_id)
    alias_arn = f"arn:aws:kms:us-east-1:{account}:alias/app-data"
    for i, ref in enumerate((key_id, key_arn, "alias/app-data", alias_arn)):
        fs = efs.create_file_system(CreationToken=f"kms-ref-{i}", Encrypted=True, KmsKeyId=ref)
        assert fs["KmsKeyId"] == key_arn, ref
        described = efs.describe_file_systems(FileSystemId=fs["FileSystemId"])["FileSystems"][0]
        assert described["KmsKeyId"] == key_arn

    default = efs.create_file_system(CreationToken="kms-default", Encrypted=True)
    managed = kms.describe_key(KeyId="alias/aws/elasticfilesystem")["KeyMetadata"]
    assert default["KmsKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/aws/elasticfilesystem" in aliases

    def refused(ref, token):
        with pytest.raises(ClientError) as ei:
            efs.create_file_system(CreationToken=token, Encrypted=True, KmsKeyId=ref)
        code, status, _ = err(ei)
        assert (code, status) == ("BadRequest", 400), ref
        tokens = [f["CreationToken"] for f in efs.describe_file_systems()["FileSystems"]]
        assert token not in tokens

    refused(str(uuid.uuid4()), "kms-missing")
    refused("alias/no-such-alias", "kms-missing-alias")
    kms.disable_key(KeyId=key_id)
    refused("alias/app-data", "kms-disabled")
    kms.enable_key(KeyId=key_id)
    assert efs.create_file_system(CreationToken="kms-enabled-again", Encrypted=True,
                                  KmsKeyId="alias/app-data")["KmsKeyId"] == key_arn
    # A replication's new destination is encrypted with the key it names.
    src = efs.create_file_system(CreationToken="kms-repl-src")["FileSystemId"]
    wait_state(lambda: efs.describe_file_systems(FileSystemId=src)["FileSystems"][0]["LifeCycleState"],
               "available")
    rep = efs.create_replication_configuration(
        SourceFileSystemId=src, Destinations=[{"Region": "us-east-1", "KmsKeyId": "alias/app-data"}])
    dest = rep["Destinations"][0]["FileSystemId"]
    assert efs.describe_file_systems(FileSystemId=dest)["FileSystems"][0]["KmsKeyId"] == key_arn

    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    refused(key_arn, "kms-pending-deletion")
