# A private network for the functions: two subnets in two availability zones, one route table
# with no route out (no internet gateway, no NAT gateway), and gateway endpoints for the only
# two services the functions call, S3 and DynamoDB (free, routed through the route table).
# Interface endpoints (billed hourly) only for what the caller turns on (interface_endpoints):
# EventBridge with outcome events, SSM with signed image URLs (README of this module).

# Zone names are per account (us-east-1a is a different zone in each account) and not every
# region has an "a" and a "b", so the zones come from the account: those available now (not
# impaired, constrained or unavailable), plain availability zones only (no Local or Wavelength
# Zones, which need an opt-in and offer fewer services). Read only when no zones are given.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:zone names are per account, so no name allowlist can be written here; only the first zone_count names by sort order are used, and a change to them shows as a subnet replacement in the plan (pin them with availability_zones)
  count = length(var.availability_zones) == 0 ? 1 : 0

  state = "available"

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }
}

locals {
  available_zones = try(sort(data.aws_availability_zones.available[0].names), [])
  azs = (length(var.availability_zones) > 0 ? var.availability_zones
    : slice(local.available_zones, 0, min(var.zone_count, length(local.available_zones)))
  )

  # Gateway endpoints: service -> the actions and resources the stack's functions use.
  gateway_endpoints = {
    s3       = var.s3_endpoint_statements
    dynamodb = var.dynamodb_endpoint_statements
  }
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:no flow logs by default (billed per GB); the only traffic is to the S3 and DynamoDB gateway endpoints
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    precondition {
      condition     = length(local.azs) >= 2
      error_message = "The account lists ${length(local.azs)} available availability zone(s) in ${var.region} (${join(", ", local.azs)}); Lambda needs subnets in at least two. Set vpc_availability_zones to two zones that take subnets."
    }
  }
}

# The VPC's default security group allows nothing (no rules); the functions use their own.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count = length(local.azs)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, var.subnet_newbits, count.index)
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

# Only the VPC's local route and the gateway endpoints' prefix-list routes: no way out.
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = length(local.azs)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

data "aws_iam_policy_document" "endpoint" {
  for_each = local.gateway_endpoints

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = local.gateway_endpoints

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  policy            = data.aws_iam_policy_document.endpoint[each.key].json

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_security_group" "functions" {
  #checkov:skip=CKV2_AWS_5:attached to both functions through the output function_security_group_id (their vpc_config); checkov does not follow module outputs
  name        = "${var.name}-functions"
  description = "Lambda functions of ${var.name}: HTTPS out to the S3 and DynamoDB gateway endpoints only, nothing in"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-functions" })
}

resource "aws_vpc_security_group_egress_rule" "https_to_endpoints" {
  for_each = aws_vpc_endpoint.gateway

  security_group_id = aws_security_group.functions.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value.prefix_list_id

  tags = merge(var.tags, { Name = "${var.name}-to-${each.key}" })
}

# Interface endpoints (interface_endpoints, by a short name: "events" for outcome events,
# "ssm" for the API's signing key): one code path for all. Each sits in every private subnet
# with private DNS, so the SDK's usual <service>.<region> name resolves to it with no code change.
#
# One security group per endpoint rather than one shared group: groups are free, so cost does not
# decide; per endpoint, each group's description and rules name the one service it fronts, adding
# or removing an endpoint (ssm comes and goes with image_access) never rewrites another's rules,
# and the functions' egress is to the endpoints they are given, not to a group future endpoints
# would join. Each admits only HTTPS from the functions' group; its policy admits only what the
# stack calls (the caller's statements), whatever a role allows.
resource "aws_security_group" "interface_endpoint" {
  for_each = var.interface_endpoints

  name        = "${var.name}-${each.key}-endpoint"
  description = "${each.value.label} interface endpoint of ${var.name}: HTTPS in from the functions only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-endpoint" })
}

resource "aws_vpc_security_group_ingress_rule" "interface_endpoint_from_functions" {
  for_each = var.interface_endpoints

  security_group_id            = aws_security_group.interface_endpoint[each.key].id
  description                  = "HTTPS from the functions"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.functions.id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-from-functions" })
}

resource "aws_vpc_security_group_egress_rule" "https_to_interface_endpoints" {
  for_each = var.interface_endpoints

  security_group_id            = aws_security_group.functions.id
  description                  = "HTTPS to the ${each.value.label} interface endpoint"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.interface_endpoint[each.key].id

  tags = merge(var.tags, { Name = "${var.name}-to-${each.key}" })
}

# A statement with principal_arns admits only those roles (aws:PrincipalArn, which names the role
# for any of its sessions, and stays valid when a role is re-created, unlike a role principal
# that AWS stores as the role's unique id); without, any caller, for the listed resources only.
data "aws_iam_policy_document" "interface_endpoint" {
  for_each = var.interface_endpoints

  dynamic "statement" {
    for_each = each.value.statements

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      dynamic "condition" {
        for_each = length(statement.value.principal_arns) > 0 ? [statement.value.principal_arns] : []

        content {
          test     = "ArnEquals"
          variable = "aws:PrincipalArn"
          values   = condition.value
        }
      }
    }
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.interface_endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.${each.value.service}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.interface_endpoint[each.key].id]
  private_dns_enabled = true
  policy              = data.aws_iam_policy_document.interface_endpoint[each.key].json

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

# The EventBridge endpoint was a single counted resource (events_endpoint_statements): existing
# deployments keep it, its group and rules, under their new addresses (no replacement).
moved {
  from = aws_security_group.events_endpoint[0]
  to   = aws_security_group.interface_endpoint["events"]
}

moved {
  from = aws_vpc_security_group_ingress_rule.events_from_functions[0]
  to   = aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["events"]
}

moved {
  from = aws_vpc_security_group_egress_rule.https_to_events[0]
  to   = aws_vpc_security_group_egress_rule.https_to_interface_endpoints["events"]
}

moved {
  from = aws_vpc_endpoint.events[0]
  to   = aws_vpc_endpoint.interface["events"]
}
