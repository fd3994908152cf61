#!/usr/bin/env bash
# The API calls `terraform apply` and `terraform destroy` of main.tf make
# (AWS provider 5.x), in order, made with the AWS CLI against efs-local, so
# the configuration's path through the API is tested where no Terraform
# registry is reachable. Endpoint: EFS_LOCAL_ENDPOINT, else
# http://127.0.0.1:${EFS_LOCAL_API_PORT:-2050}. Prints each call; exits
# non-zero at the first that fails.
set -euo pipefail
api=${EFS_LOCAL_ENDPOINT:-http://127.0.0.1:${EFS_LOCAL_API_PORT:-2050}}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
call() { echo "+ $*" >&2; aws --endpoint-url "$api" --output json "$@"; }
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
until_state() {  # until_state WANT CMD... : polls a describe call's state
  local want=$1; shift
  for _ in $(seq 1 150); do
    [ "$("$@")" = "$want" ] && return 0
    sleep 0.1
  done
  echo "never reached $want: $*" >&2; return 1
}
gone() {  # gone ERROR CMD... : polls until the describe call fails with ERROR
  local err=$1; shift
  for _ in $(seq 1 150); do
    if out=$(aws --endpoint-url "$api" --output json "$@" 2>&1); then sleep 0.1; continue; fi
    echo "$out" | grep -q "$err" && return 0
    echo "$out" >&2; return 1
  done
  echo "still there: $*" >&2; return 1
}
token=${TF_REPLAY_TOKEN:-terraform-example-$$}

# data sources
vpc=$(call ec2 describe-vpcs --filters Name=is-default,Values=true | q 'd["Vpcs"][0]["VpcId"]')
subnet=$(call ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" | q 'd["Subnets"][0]["SubnetId"]')

# aws_kms_key.efs
key=$(call kms create-key --description "efs-local example" --key-usage ENCRYPT_DECRYPT \
  --key-spec SYMMETRIC_DEFAULT --no-bypass-policy-lockout-safety-check | q 'd["KeyMetadata"]["Arn"]')
call kms enable-key-rotation --key-id "$key"
call kms describe-key --key-id "$key" > /dev/null
call kms get-key-policy --key-id "$key" --policy-name default > /dev/null
call kms get-key-rotation-status --key-id "$key" | q 'd["KeyRotationEnabled"]' | grep -qx True
call kms list-resource-tags --key-id "$key" > /dev/null

# aws_efs_file_system.app
fs=$(call efs create-file-system --creation-token "$token" --encrypted --kms-key-id "$key" \
  --performance-mode generalPurpose --throughput-mode elastic \
  --tags Key=Name,Value=terraform-example | q 'd["FileSystemId"]')
until_state available bash -c "aws --endpoint-url $api --output json efs describe-file-systems --file-system-id $fs | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"FileSystems\"][0][\"LifeCycleState\"])'"
call efs put-lifecycle-configuration --file-system-id "$fs" --lifecycle-policies \
  '[{"TransitionToIA":"AFTER_30_DAYS"},{"TransitionToPrimaryStorageClass":"AFTER_1_ACCESS"}]' > /dev/null
call efs describe-file-systems --file-system-id "$fs" | q 'd["FileSystems"][0]["KmsKeyId"]' | grep -qx "$key"
call efs describe-lifecycle-configuration --file-system-id "$fs" | q 'len(d["LifecyclePolicies"])' | grep -qx 2

# aws_efs_mount_target.app
mt=$(call efs create-mount-target --file-system-id "$fs" --subnet-id "$subnet" | q 'd["MountTargetId"]')
until_state available bash -c "aws --endpoint-url $api --output json efs describe-mount-targets --mount-target-id $mt | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"MountTargets\"][0][\"LifeCycleState\"])'"
call efs describe-mount-target-security-groups --mount-target-id "$mt" > /dev/null
ip=$(call efs describe-mount-targets --mount-target-id "$mt" | q 'd["MountTargets"][0]["IpAddress"]')

# aws_efs_access_point.app
ap=$(call efs create-access-point --file-system-id "$fs" --posix-user Uid=1000,Gid=1000 \
  --root-directory 'Path=/app,CreationInfo={OwnerUid=1000,OwnerGid=1000,Permissions=750}' \
  --tags Key=Name,Value=app | q 'd["AccessPointId"]')
until_state available bash -c "aws --endpoint-url $api --output json efs describe-access-points --access-point-id $ap | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"AccessPoints\"][0][\"LifeCycleState\"])'"
ap_arn=$(call efs describe-access-points --access-point-id "$ap" | q 'd["AccessPoints"][0]["AccessPointArn"]')

# aws_efs_file_system_policy.app
policy=$(python3 -c 'import json,sys; print(json.dumps({"Version": "2012-10-17", "Statement": [{
  "Sid": "AccessPointsOnly", "Effect": "Allow", "Principal": {"AWS": "*"},
  "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
  "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": sys.argv[1]}}}]}))' "$ap_arn")
call efs put-file-system-policy --file-system-id "$fs" --policy "$policy" > /dev/null
call efs describe-file-system-policy --file-system-id "$fs" | q 'd["FileSystemId"]' | grep -qx "$fs"

# A `terraform plan` after apply reads everything again.
call efs describe-file-systems --file-system-id "$fs" > /dev/null
call efs describe-mount-targets --mount-target-id "$mt" > /dev/null
call efs describe-access-points --access-point-id "$ap" > /dev/null
echo "outputs: mount -t nfs4 -o vers=4.1 $ip:/ /mnt/efs; mount -t nfs4 -o vers=4.1 127.0.0.1:/$ap /mnt/app"
echo "applied: $fs $mt $ap $key"
[ "${TF_REPLAY_KEEP:-}" = 1 ] && exit 0

# terraform destroy (reverse dependency order)
call efs delete-file-system-policy --file-system-id "$fs"
call efs delete-access-point --access-point-id "$ap"
gone AccessPointNotFound efs describe-access-points --access-point-id "$ap"
call efs delete-mount-target --mount-target-id "$mt"
gone MountTargetNotFound efs describe-mount-targets --mount-target-id "$mt"
call efs delete-file-system --file-system-id "$fs"
gone FileSystemNotFound efs describe-file-systems --file-system-id "$fs"
call kms schedule-key-deletion --key-id "$key" --pending-window-in-days 7 > /dev/null
call kms describe-key --key-id "$key" | q 'd["KeyMetadata"]["KeyState"]' | grep -qx PendingDeletion
echo "destroyed"
