# Terraform's AWS provider against efs-local: an encrypted file system with
# its own KMS key, a mount target in the default VPC, an access point and a
# file system policy.
#   efs-local serve &     (or the container: ports 2049 and 2050)
#   terraform init && terraform apply
# replay.sh makes the API calls this configuration's apply and destroy make,
# with the AWS CLI (tests/integration/test_examples.py runs it).

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "endpoint" {
  default = "http://127.0.0.1:2050"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    efs = var.endpoint
    kms = var.endpoint
    ec2 = var.endpoint
    sts = var.endpoint
  }
}

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

resource "aws_kms_key" "efs" {
  description             = "efs-local example"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

resource "aws_efs_file_system" "app" {
  creation_token   = "terraform-example"
  encrypted        = true
  kms_key_id       = aws_kms_key.efs.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  lifecycle_policy {
    transition_to_primary_storage_class = "AFTER_1_ACCESS"
  }

  tags = { Name = "terraform-example" }
}

resource "aws_efs_mount_target" "app" {
  file_system_id = aws_efs_file_system.app.id
  subnet_id      = data.aws_subnets.default.ids[0]
}

resource "aws_efs_access_point" "app" {
  file_system_id = aws_efs_file_system.app.id
  posix_user {
    uid = 1000
    gid = 1000
  }
  root_directory {
    path = "/app"
    creation_info {
      owner_uid   = 1000
      owner_gid   = 1000
      permissions = "750"
    }
  }
  tags = { Name = "app" }
}

resource "aws_efs_file_system_policy" "app" {
  file_system_id = aws_efs_file_system.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccessPointsOnly"
      Effect    = "Allow"
      Principal = { AWS = "*" }
      Action    = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
      Condition = { StringEquals = { "elasticfilesystem:AccessPointArn" = aws_efs_access_point.app.arn } }
    }]
  })
}

output "mount" {
  value = "mount -t nfs4 -o vers=4.1 ${aws_efs_mount_target.app.ip_address}:/ /mnt/efs"
}
output "access_point_mount" {
  value = "mount -t nfs4 -o vers=4.1 127.0.0.1:/${aws_efs_access_point.app.id} /mnt/app"
}
