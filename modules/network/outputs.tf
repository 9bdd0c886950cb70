output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

# A function placed in the subnets (or given the security group) before their routes, the
# gateway endpoints and the egress rules exist would start with no way to S3 or DynamoDB: the
# two outputs the functions' vpc_config reads are ready only when the whole network is.
output "private_subnet_ids" {
  description = "IDs of the private subnets (one per availability zone), for the functions' vpc_config; known only once their route table association, the gateway endpoints and the security group's egress rules exist."
  value       = aws_subnet.private[*].id

  depends_on = [
    aws_route_table_association.private,
    aws_vpc_endpoint.gateway,
    aws_vpc_security_group_egress_rule.https_to_endpoints,
    aws_vpc_endpoint.events,
    aws_vpc_security_group_egress_rule.https_to_events,
  ]
}

output "availability_zones" {
  description = "Availability zones of the private subnets."
  value       = local.azs
}

output "route_table_id" {
  description = "ID of the private route table (local route and gateway endpoints only)."
  value       = aws_route_table.private.id
}

output "function_security_group_id" {
  description = "ID of the functions' security group (HTTPS out to the endpoints' prefix lists, nothing in); known only once the network is complete, like private_subnet_ids."
  value       = aws_security_group.functions.id

  depends_on = [
    aws_route_table_association.private,
    aws_vpc_endpoint.gateway,
    aws_vpc_security_group_egress_rule.https_to_endpoints,
    aws_vpc_endpoint.events,
    aws_vpc_security_group_egress_rule.https_to_events,
  ]
}

output "gateway_endpoint_ids" {
  description = "IDs of the gateway endpoints by service (s3, dynamodb)."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.id }
}

output "gateway_prefix_list_ids" {
  description = "Prefix-list ids of the gateway endpoints by service (the security group's egress destinations)."
  value       = { for service, endpoint in aws_vpc_endpoint.gateway : service => endpoint.prefix_list_id }
}

output "events_endpoint_id" {
  description = "ID of the EventBridge interface endpoint; null without one."
  value       = try(aws_vpc_endpoint.events[0].id, null)
}
