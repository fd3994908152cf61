"""boto3 walks every list operation of the EFS model across pages: with the
page size at its documented maximum and at 1, no item is lost or repeated.

The operations are found in the model (an input token member and a list in
the output), so an operation the model adds is not silently skipped.
Documented maxima (EFS API reference): DescribeFileSystems MaxItems 100,
DescribeMountTargets MaxItems 10, DescribeTags MaxItems 100,
DescribeAccessPoints / DescribeReplicationConfigurations /
ListTagsForResource MaxResults 100. Where EFS's own quotas keep a list
shorter than its maximum (50 tags per resource, one mount target per
Availability Zone), the walk covers as many as EFS allows.
"""
import time
import uuid

import pytest
from botocore import xform_name

from conftest import make_client

# Documented maximum page size of each paginating operation.
MAXIMUM = {
    "DescribeFileSystems": 100,
    "DescribeMountTargets": 10,
    "DescribeTags": 100,
    "DescribeAccessPoints": 100,
    "DescribeReplicationConfigurations": 100,
    "ListTagsForResource": 100,
}


def paginating_operations(client):
    """(operation, token in, token out, limit member, list member) from the model."""
    model = client.meta.service_model
    out = {}
    for name in model.operation_names:
        op = model.operation_model(name)
        ins = op.input_shape.members if op.input_shape else {}
        outs = op.output_shape.members if op.output_shape else {}
        token_in = next((t for t in ("Marker", "NextToken") if t in ins), None)
        lists = [m for m, s in outs.items() if s.type_name == "list"]
        if token_in is None or not lists:
            continue
        token_out = "NextMarker" if token_in == "Marker" else "NextToken"
        limit = next(m for m in ("MaxItems", "MaxResults") if m in ins)
        out[name] = (token_in, token_out, limit, lists[0])
    return out


def walk(client, name, spec, page_size, key, **kw):
    """Every item of the listing, page by page; checks each page's size."""
    token_in, token_out, limit, items = spec
    method = getattr(client, xform_name(name))
    got, token, pages = [], None, 0
    while True:
        args = dict(kw, **{limit: page_size})
        if token:
            args[token_in] = token
        page = method(**args)
        pages += 1
        assert len(page[items]) <= page_size, (name, page_size, len(page[items]))
        got += [key(i) for i in page[items]]
        token = page.get(token_out)
        if not token:
            break
        # A page that ends before the list does is full.
        assert len(page[items]) == page_size, (name, page_size, len(page[items]))
        assert pages < 10000
    return got, pages


def check_walks(client, name, spec, want, key, **kw):
    maximum = MAXIMUM[name]
    for size in (maximum, 1):
        got, pages = walk(client, name, spec, size, key, **kw)
        assert len(got) == len(set(got)), f"{name} page size {size}: an item is repeated"
        assert set(got) == set(want), f"{name} page size {size}: lost {set(want) - set(got)}"
        assert pages == max(1, -(-len(want) // size)), (name, size, pages)


def wait_available(efs, ids, timeout=30):
    deadline = time.time() + timeout
    ids = set(ids)
    while time.time() < deadline:
        states = {}
        marker = None
        while True:
            kw = {"Marker": marker} if marker else {}
            page = efs.describe_file_systems(**kw)
            states.update({f["FileSystemId"]: f["LifeCycleState"] for f in page["FileSystems"]})
            marker = page.get("NextMarker")
            if not marker:
                break
        if all(states.get(i) == "available" for i in ids):
            return
        time.sleep(0.1)
    raise AssertionError("file systems did not become available")


@pytest.fixture
def efs_fresh(fresh_server):
    return make_client(fresh_server)


def test_model_lists_are_the_ones_walked(efs_fresh):
    assert set(paginating_operations(efs_fresh)) == set(MAXIMUM)


def test_every_list_operation_walks_without_loss_or_repeat(efs_fresh, fresh_server):
    efs = efs_fresh
    ops = paginating_operations(efs)

    # More file systems than a page holds.
    fs_ids = [efs.create_file_system(CreationToken=uuid.uuid4().hex)["FileSystemId"]
              for _ in range(MAXIMUM["DescribeFileSystems"] + 3)]
    wait_available(efs, fs_ids)
    check_walks(efs, "DescribeFileSystems", ops["DescribeFileSystems"], fs_ids,
                lambda f: f["FileSystemId"])

    target = fs_ids[0]
    # More access points than a page holds, on one file system.
    ap_ids = [efs.create_access_point(ClientToken=uuid.uuid4().hex, FileSystemId=target)
              ["AccessPointId"] for _ in range(MAXIMUM["DescribeAccessPoints"] + 2)]
    check_walks(efs, "DescribeAccessPoints", ops["DescribeAccessPoints"], ap_ids,
                lambda a: a["AccessPointId"], FileSystemId=target)

    # Tags: EFS allows 50 per resource (fewer than a page of 100).
    tags = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(50)]
    efs.tag_resource(ResourceId=target, Tags=tags)
    keys = [t["Key"] for t in tags]
    check_walks(efs, "DescribeTags", ops["DescribeTags"], keys, lambda t: t["Key"],
                FileSystemId=target)
    check_walks(efs, "ListTagsForResource", ops["ListTagsForResource"], keys,
                lambda t: t["Key"], ResourceId=target)

    # Mount targets: one per Availability Zone of the Region.
    ec2 = make_client(fresh_server, "ec2")
    subnets = ec2.describe_subnets()["Subnets"]
    mt_ids = [efs.create_mount_target(FileSystemId=target, SubnetId=s["SubnetId"])
              ["MountTargetId"] for s in subnets]
    assert len(mt_ids) >= 3
    check_walks(efs, "DescribeMountTargets", ops["DescribeMountTargets"], mt_ids,
                lambda m: m["MountTargetId"], FileSystemId=target)

    # More replication configurations than a page holds: one per source.
    sources = fs_ids[1:MAXIMUM["DescribeReplicationConfigurations"] + 2]
    for src in sources:
        efs.create_replication_configuration(SourceFileSystemId=src,
                                             Destinations=[{"Region": "us-west-2"}])
    check_walks(efs, "DescribeReplicationConfigurations",
                ops["DescribeReplicationConfigurations"], sources,
                lambda r: r["SourceFileSystemId"])
