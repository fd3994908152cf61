#!/usr/bin/env bash
# The EFS API calls of the EFS CSI driver's dynamic provisioning
# (csi-driver.md), made with the AWS CLI against efs-local:
#   bash csi-calls.sh [fs-...]      (a new file system if none is given)
# Endpoint: EFS_LOCAL_ENDPOINT, else http://127.0.0.1:${EFS_LOCAL_API_PORT:-2050}.
set -euo pipefail
api=${EFS_LOCAL_ENDPOINT:-http://127.0.0.1:${EFS_LOCAL_API_PORT:-2050}}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
efs() { aws --endpoint-url "$api" --output json efs "$@"; }
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

fs=${1:-}
if [ -z "$fs" ]; then
  fs=$(efs create-file-system --creation-token "csi-$$-$RANDOM" | q 'd["FileSystemId"]')
  for _ in $(seq 1 100); do
    [ "$(efs describe-file-systems --file-system-id "$fs" | q 'd["FileSystems"][0]["LifeCycleState"]')" = available ] && break
    sleep 0.1
  done
fi

# CreateVolume
efs describe-file-systems --file-system-id "$fs" > /dev/null
taken=$(efs describe-access-points --file-system-id "$fs" --max-results 1000 |
  q '" ".join(str(a["PosixUser"]["Gid"]) for a in d["AccessPoints"] if "PosixUser" in a)')
gid=50000
for t in $taken; do [ "$t" -ge "$gid" ] && gid=$((t + 1)); done
volume=pvc-$(python3 -c 'import uuid; print(uuid.uuid4())')
create() {
  efs create-access-point --file-system-id "$fs" --client-token "$volume" \
    --posix-user "Uid=$gid,Gid=$gid" \
    --root-directory "Path=/dynamic_provisioning/$volume,CreationInfo={OwnerUid=$gid,OwnerGid=$gid,Permissions=700}" \
    --tags Key=efs.csi.aws.com/cluster,Value=true
}
ap=$(create | q 'd["AccessPointId"]')
# A retried CreateVolume sends the same ClientToken: EFS answers
# AccessPointAlreadyExists naming the access point made the first time.
if again=$(create 2>&1); then echo "ClientToken retry made a second access point: $again" >&2; exit 1; fi
echo "$again" | grep -q "AccessPointAlreadyExists" && echo "$again" | grep -q "$ap" ||
  { echo "ClientToken retry: $again" >&2; exit 1; }
echo "CreateVolume: $fs::$ap (gid $gid, /dynamic_provisioning/$volume)"

# DeleteVolume
efs describe-access-points --access-point-id "$ap" > /dev/null
efs delete-access-point --access-point-id "$ap"
if efs describe-access-points --access-point-id "$ap" > /dev/null 2>&1; then
  echo "access point $ap still there after DeleteAccessPoint" >&2; exit 1
fi
echo "DeleteVolume: $ap deleted"
