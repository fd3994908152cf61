"""boto3, loaded with this repository's EFS model (AWS_DATA_PATH), drives all
31 operations: happy paths, named errors, idempotency and pagination."""
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import make_client, new_fs, wait_state


def err(excinfo):
    e = excinfo.value
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def test_model_has_all_31_operations(efs):
    assert len(efs.meta.service_model.operation_names) == 31


def test_create_file_system_defaults_and_idempotency(efs):
    token = str(uuid.uuid4())
    fs = efs.create_file_system(CreationToken=token)
    assert fs["ResponseMetadata"]["HTTPStatusCode"] == 201
    fid = fs["FileSystemId"]
    assert fs["LifeCycleState"] == "creating"
    assert fs["PerformanceMode"] == "generalPurpose"
    assert fs["ThroughputMode"] == "bursting"
    assert fs["Encrypted"] is False
    assert fs["NumberOfMountTargets"] == 0
    assert fs["OwnerId"] == "000000000000"
    assert fs["SizeInBytes"]["Value"] == 6144
    with pytest.raises(ClientError) as ei:
        efs.create_file_system(CreationToken=token)
    assert err(ei) == ("FileSystemAlreadyExists", 409)
    assert ei.value.response["FileSystemId"] == fid
    wait_state(lambda: efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["LifeCycleState"],
               "available")
    by_token = efs.describe_file_systems(CreationToken=token)["FileSystems"]
    assert [f["FileSystemId"] for f in by_token] == [fid]


def test_file_system_validation_errors(efs):
    with pytest.raises(ClientError) as ei:
        efs.create_file_system(CreationToken="t-" + uuid.uuid4().hex, ThroughputMode="provisioned")
    assert err(ei) == ("BadRequest", 400)
    with pytest.raises(ClientError) as ei:
        efs.create_file_system(CreationToken="t-" + uuid.uuid4().hex, PerformanceMode="maxIO",
                               ThroughputMode="elastic")
    assert err(ei)[1] == 400
    with pytest.raises(ClientError) as ei:
        efs.describe_file_systems(FileSystemId="fs-0123456789abcdef0")
    assert err(ei) == ("FileSystemNotFound", 404)


def test_one_zone_file_system(efs):
    fs = efs.create_file_system(CreationToken=uuid.uuid4().hex, AvailabilityZoneName="us-east-1b")
    assert fs["AvailabilityZoneName"] == "us-east-1b"
    assert fs["AvailabilityZoneId"].startswith("use1-az")


def test_describe_file_systems_pagination(efs):
    ids = {new_fs(efs) for _ in range(5)}
    seen, marker, pages = [], None, 0
    while True:
        kw = {"MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        page = efs.describe_file_systems(**kw)
        assert len(page["FileSystems"]) <= 2
        seen += [f["FileSystemId"] for f in page["FileSystems"]]
        pages += 1
        marker = page.get("NextMarker")
        if not marker:
            break
    assert ids <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3
    paginated = [f["FileSystemId"] for p in efs.get_paginator("describe_file_systems").paginate(
        PaginationConfig={"PageSize": 3}) for f in p["FileSystems"]]
    assert sorted(paginated) == sorted(seen)


def test_throughput_mode_rules_and_cooldown(server, efs):
    fid = new_fs(efs)
    up = efs.update_file_system(FileSystemId=fid, ThroughputMode="provisioned",
                                ProvisionedThroughputInMibps=10)
    assert up["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert up["ThroughputMode"] == "provisioned" and up["ProvisionedThroughputInMibps"] == 10
    # Within 24 hours of a switch to provisioned, the mode may not change again.
    with pytest.raises(ClientError) as ei:
        efs.update_file_system(FileSystemId=fid, ThroughputMode="bursting")
    code, status = err(ei)
    assert code == "TooManyRequests" and status == 429
    assert "Wait until" in ei.value.response["Error"]["Message"]
    # Increasing is allowed; decreasing is not, until 24 hours have passed.
    efs.update_file_system(FileSystemId=fid, ProvisionedThroughputInMibps=20)
    with pytest.raises(ClientError):
        efs.update_file_system(FileSystemId=fid, ProvisionedThroughputInMibps=5)
    server.advance_clock(24 * 3600 + 60)
    down = efs.update_file_system(FileSystemId=fid, ProvisionedThroughputInMibps=5)
    assert down["ProvisionedThroughputInMibps"] == 5


def test_update_file_system_protection(efs):
    fid = new_fs(efs)
    p = efs.update_file_system_protection(FileSystemId=fid, ReplicationOverwriteProtection="DISABLED")
    assert p["ReplicationOverwriteProtection"] == "DISABLED"
    fs = efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]
    assert fs["FileSystemProtection"]["ReplicationOverwriteProtection"] == "DISABLED"


def test_mount_targets(efs, ec2):
    fid = new_fs(efs)
    subnets = sorted(ec2.describe_subnets()["Subnets"], key=lambda s: s["AvailabilityZone"])
    s0, s1 = subnets[0], subnets[1]
    mt = efs.create_mount_target(FileSystemId=fid, SubnetId=s0["SubnetId"])
    assert mt["LifeCycleState"] == "creating"
    assert mt["MountTargetId"].startswith("fsmt-")
    assert mt["NetworkInterfaceId"].startswith("eni-")
    assert mt["VpcId"] == s0["VpcId"]
    assert mt["AvailabilityZoneId"] == s0["AvailabilityZoneId"]
    with pytest.raises(ClientError) as ei:
        efs.create_mount_target(FileSystemId=fid, SubnetId=s0["SubnetId"])
    assert err(ei)[0] == "MountTargetConflict"
    with pytest.raises(ClientError) as ei:
        efs.create_mount_target(FileSystemId=fid, SubnetId="subnet-0123456789abcdef0")
    assert err(ei)[0] == "SubnetNotFound"
    with pytest.raises(ClientError) as ei:
        efs.create_mount_target(FileSystemId=new_fs(efs), SubnetId=s1["SubnetId"], IpAddress=mt["IpAddress"])
    assert err(ei)[0] in ("IpAddressInUse", "BadRequest")
    wait_state(lambda: efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])["MountTargets"][0]
               ["LifeCycleState"], "available")
    assert efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["NumberOfMountTargets"] == 1

    sgs = efs.describe_mount_target_security_groups(MountTargetId=mt["MountTargetId"])["SecurityGroups"]
    assert len(sgs) == 1 and sgs[0].startswith("sg-")
    new_sg = ec2.create_security_group(GroupName="efs-" + uuid.uuid4().hex[:8], Description="efs",
                                       VpcId=s0["VpcId"])["GroupId"]
    efs.modify_mount_target_security_groups(MountTargetId=mt["MountTargetId"], SecurityGroups=[new_sg])
    assert efs.describe_mount_target_security_groups(MountTargetId=mt["MountTargetId"])[
        "SecurityGroups"] == [new_sg]
    six = [ec2.create_security_group(GroupName="efs6-" + uuid.uuid4().hex[:8], Description="efs",
                                     VpcId=s0["VpcId"])["GroupId"] for _ in range(6)]
    with pytest.raises(ClientError) as ei:
        efs.modify_mount_target_security_groups(MountTargetId=mt["MountTargetId"], SecurityGroups=six)
    assert err(ei) == ("SecurityGroupLimitExceeded", 400)

    ap = efs.create_access_point(FileSystemId=fid)
    by_ap = efs.describe_mount_targets(AccessPointId=ap["AccessPointId"])["MountTargets"]
    assert [m["MountTargetId"] for m in by_ap] == [mt["MountTargetId"]]
    efs.delete_access_point(AccessPointId=ap["AccessPointId"])

    with pytest.raises(ClientError) as ei:
        efs.delete_file_system(FileSystemId=fid)
    assert err(ei) == ("FileSystemInUse", 409)
    efs.delete_mount_target(MountTargetId=mt["MountTargetId"])
    wait_state(lambda: len(efs.describe_mount_targets(FileSystemId=fid)["MountTargets"]), 0)
    with pytest.raises(ClientError) as ei:
        efs.describe_mount_targets(MountTargetId=mt["MountTargetId"])
    assert err(ei) == ("MountTargetNotFound", 404)
    efs.delete_file_system(FileSystemId=fid)


def test_access_points(efs):
    fid = new_fs(efs)
    token = uuid.uuid4().hex
    ap = efs.create_access_point(
        ClientToken=token, FileSystemId=fid, Tags=[{"Key": "Name", "Value": "app"}],
        PosixUser={"Uid": 1000, "Gid": 1000, "SecondaryGids": [10, 20]},
        RootDirectory={"Path": "/app", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000,
                                                        "Permissions": "0750"}})
    apid = ap["AccessPointId"]
    assert apid.startswith("fsap-") and len(apid) == 22
    assert ap["AccessPointArn"].endswith(f":access-point/{apid}")
    assert ap["Name"] == "app"
    assert ap["RootDirectory"]["Path"] == "/app"
    with pytest.raises(ClientError) as ei:
        efs.create_access_point(ClientToken=token, FileSystemId=fid)
    assert err(ei)[0] == "AccessPointAlreadyExists"
    assert ei.value.response["AccessPointId"] == apid
    for _ in range(4):
        efs.create_access_point(FileSystemId=fid)
    seen, token_ = [], None
    while True:
        kw = {"FileSystemId": fid, "MaxResults": 2}
        if token_:
            kw["NextToken"] = token_
        page = efs.describe_access_points(**kw)
        assert len(page["AccessPoints"]) <= 2
        seen += [a["AccessPointId"] for a in page["AccessPoints"]]
        token_ = page.get("NextToken")
        if not token_:
            break
    assert len(seen) == 5 and apid in seen
    efs.delete_access_point(AccessPointId=apid)

    def gone():
        try:
            return efs.describe_access_points(AccessPointId=apid)["AccessPoints"][0]["LifeCycleState"]
        except ClientError as e:
            return err(type("E", (), {"value": e}))
    wait_state(gone, ("AccessPointNotFound", 404))
    with pytest.raises(ClientError) as ei:
        efs.create_access_point(FileSystemId=fid, RootDirectory={"Path": "relative"})
    assert err(ei)[1] == 400


def test_lifecycle_configuration(efs):
    fid = new_fs(efs)
    assert efs.describe_lifecycle_configuration(FileSystemId=fid)["LifecyclePolicies"] == []
    pol = [{"TransitionToIA": "AFTER_7_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]
    assert efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=pol)["LifecyclePolicies"] == pol
    assert efs.describe_lifecycle_configuration(FileSystemId=fid)["LifecyclePolicies"] == pol
    with pytest.raises(ClientError) as ei:
        efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[
            {"TransitionToIA": "AFTER_7_DAYS"}, {"TransitionToIA": "AFTER_14_DAYS"}])
    assert err(ei)[1] == 400
    with pytest.raises(ClientError) as ei:
        efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[{"TransitionToIA": "AFTER_8_DAYS"}])
    assert err(ei)[1] == 400
    efs.put_lifecycle_configuration(FileSystemId=fid, LifecyclePolicies=[])
    assert efs.describe_lifecycle_configuration(FileSystemId=fid)["LifecyclePolicies"] == []


def test_file_system_policy(efs):
    fid = new_fs(efs)
    with pytest.raises(ClientError) as ei:
        efs.describe_file_system_policy(FileSystemId=fid)
    assert err(ei) == ("PolicyNotFound", 404)
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": f"arn:aws:elasticfilesystem:us-east-1:000000000000:file-system/{fid}"}]}
    r = efs.put_file_system_policy(FileSystemId=fid, Policy=json.dumps(doc))
    assert json.loads(r["Policy"]) == doc
    assert json.loads(efs.describe_file_system_policy(FileSystemId=fid)["Policy"]) == doc
    for bad in ["not json", json.dumps({"Statement": "x"}), json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]})]:
        with pytest.raises(ClientError) as ei:
            efs.put_file_system_policy(FileSystemId=fid, Policy=bad)
        assert err(ei)[0] == "InvalidPolicyException"
    efs.delete_file_system_policy(FileSystemId=fid)
    with pytest.raises(ClientError) as ei:
        efs.describe_file_system_policy(FileSystemId=fid)
    assert err(ei)[0] == "PolicyNotFound"


def test_backup_policy(efs):
    fid = new_fs(efs)
    assert efs.describe_backup_policy(FileSystemId=fid)["BackupPolicy"]["Status"] in ("DISABLED",)
    r = efs.put_backup_policy(FileSystemId=fid, BackupPolicy={"Status": "ENABLED"})
    assert r["BackupPolicy"]["Status"] in ("ENABLED", "ENABLING")
    assert efs.describe_backup_policy(FileSystemId=fid)["BackupPolicy"]["Status"] in ("ENABLED", "ENABLING")


def test_replication_configuration(efs):
    fid = new_fs(efs)
    efs.update_file_system_protection(FileSystemId=fid, ReplicationOverwriteProtection="ENABLED")
    r = efs.create_replication_configuration(SourceFileSystemId=fid,
                                             Destinations=[{"Region": "us-west-2"}])
    assert r["SourceFileSystemId"] == fid
    dest = r["Destinations"][0]
    assert dest["Region"] == "us-west-2" and dest["FileSystemId"].startswith("fs-")
    got = efs.describe_replication_configurations(FileSystemId=fid)["Replications"]
    assert [x["SourceFileSystemId"] for x in got] == [fid]
    with pytest.raises(ClientError) as ei:
        efs.create_replication_configuration(SourceFileSystemId=fid, Destinations=[{"Region": "eu-west-1"}])
    assert err(ei)[1] in (400, 409)
    efs.delete_replication_configuration(SourceFileSystemId=fid)
    with pytest.raises(ClientError) as ei:
        efs.describe_replication_configurations(FileSystemId=fid)
    assert err(ei)[0] == "ReplicationNotFound"


def test_tags_both_generations(efs):
    fid = new_fs(efs)
    efs.create_tags(FileSystemId=fid, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                                            {"Key": "Name", "Value": "tagged"}])
    tags = efs.describe_tags(FileSystemId=fid)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"a": "1", "b": "2", "Name": "tagged"}
    assert efs.describe_file_systems(FileSystemId=fid)["FileSystems"][0]["Name"] == "tagged"
    page = efs.describe_tags(FileSystemId=fid, MaxItems=2)
    assert len(page["Tags"]) == 2 and page.get("NextMarker")
    rest = efs.describe_tags(FileSystemId=fid, Marker=page["NextMarker"])["Tags"]
    assert len(rest) == 1
    efs.delete_tags(FileSystemId=fid, TagKeys=["a"])
    efs.tag_resource(ResourceId=fid, Tags=[{"Key": "c", "Value": "3"}])
    efs.untag_resource(ResourceId=fid, TagKeys=["b"])
    got = efs.list_tags_for_resource(ResourceId=fid)["Tags"]
    assert {t["Key"]: t["Value"] for t in got} == {"Name": "tagged", "c": "3"}
    ap = efs.create_access_point(FileSystemId=fid)["AccessPointId"]
    efs.tag_resource(ResourceId=ap, Tags=[{"Key": "k", "Value": "v"}])
    assert efs.list_tags_for_resource(ResourceId=ap)["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as ei:
        efs.tag_resource(ResourceId=fid, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(60)])
    assert err(ei)[1] == 400


def test_account_preferences(efs):
    p = efs.describe_account_preferences()
    assert p["ResourceIdPreference"]["ResourceIdType"] in ("LONG_ID", "SHORT_ID")
    r = efs.put_account_preferences(ResourceIdType="LONG_ID")
    assert r["ResourceIdPreference"]["ResourceIdType"] == "LONG_ID"
    assert set(r["ResourceIdPreference"]["Resources"]) >= {"FILE_SYSTEM", "MOUNT_TARGET"}


def test_region_and_account_from_credentials(server):
    c = make_client(server, region="eu-west-1")
    fs = c.create_file_system(CreationToken=uuid.uuid4().hex)
    assert ":eu-west-1:" in fs["FileSystemArn"]
    other = make_client(server, region="us-east-1")
    with pytest.raises(ClientError):
        other.describe_file_systems(FileSystemId=fs["FileSystemId"])
