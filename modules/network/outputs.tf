output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

# A function placed in the subnets (or given the security group) before their routes, the
# endpoints and the egress rules exist would start with no way to S3, DynamoDB or SSM: the
# two outputs the functions' vpc_config reads are ready only when the whole network is.
output "private_subnet_ids" {
  description = "IDs of the private subnets (one per availability zone), for the functions' vpc_config; known only once their route table association, the gateway and interface endpoints and the security group's egress rules exist."
  value       = aws_subnet.private[*].id

  depends_on = [
    aws_route_table_association.private,
    aws_vpc_endpoint.gateway,
    aws_vpc_security_group_egress_rule.https_to_endpoints,
    aws_vpc_endpoint.interface,
    aws_vpc_security_group_egress_rule.https_to_interface_endpoints,
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
  description = "ID of the functions' security group (HTTPS out to the gateway endpoints' prefix lists and the interface endpoints' groups, nothing in); known only once the network is complete, like private_subnet_ids."
  value       = aws_security_group.functions.id

  depends_on = [
    aws_route_table_association.private,
    aws_vpc_endpoint.gateway,
    aws_vpc_security_group_egress_rule.https_to_endpoints,
    aws_vpc_endpoint.interface,
    aws_vpc_security_group_egress_rule.https_to_interface_endpoints,
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

output "interface_endpoint_ids" {
  description = "IDs of the interface endpoints by name (the keys of interface_endpoints); {} without any."
  value       = { for name, endpoint in aws_vpc_endpoint.interface : name => endpoint.id }
}

output "interface_endpoint_security_group_ids" {
  description = "IDs of the interface endpoints' security groups by name (HTTPS in from the functions' group only)."
  value       = { for name, group in aws_security_group.interface_endpoint : name => group.id }
}
