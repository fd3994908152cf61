// The IAM evaluator against the cases EFS's file system policies use
// (EFS user guide, "Using IAM to control file system data access") and the
// IAM evaluation rules (explicit deny, absent keys, qualifiers).
#include "iam/policy.h"

#include <doctest/doctest.h>

using namespace efs::iam;

namespace {

const std::string kFs = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0";

Request anonymous(const std::string& action, bool tls = false) {
  Request r;
  r.action = action;
  r.resource = kFs;
  r.context = {{"aws:securetransport", tls ? "true" : "false"},
               {"elasticfilesystem:accessedviamounttarget", "true"}};
  return r;
}

Request user(const std::string& arn, const std::string& action) {
  Request r = anonymous(action, true);
  r.principal_arn = arn;
  r.principal_account = arn.substr(13, 12);
  return r;
}

Policy policy(const std::string& text) {
  auto p = Policy::parse(text);
  REQUIRE(p.has_value());
  return *p;
}

}  // namespace

TEST_CASE("an Allow for everyone allows; an unnamed action is implicitly denied") {
  auto p = policy(R"({"Version":"2012-10-17","Statement":[{"Sid":"mount","Effect":"Allow",
    "Principal":{"AWS":"*"},"Action":["elasticfilesystem:ClientMount"]}]})");
  auto d = p.evaluate(anonymous("elasticfilesystem:ClientMount"));
  CHECK(d.allowed());
  CHECK(d.statement == "mount");
  auto w = p.evaluate(anonymous("elasticfilesystem:ClientWrite"));
  CHECK(w.effect == Effect::none);
  CHECK(w.statement.empty());
}

TEST_CASE("an explicit Deny wins over an Allow, whatever their order") {
  for (const char* order : {"allow-first", "deny-first"}) {
    std::string allow = R"({"Effect":"Allow","Principal":"*","Action":"elasticfilesystem:*"})";
    std::string deny = R"({"Sid":"noroot","Effect":"Deny","Principal":"*","Action":"elasticfilesystem:ClientRootAccess"})";
    std::string text = std::string(R"({"Statement":[)") +
                       (std::string(order) == "allow-first" ? allow + "," + deny : deny + "," + allow) + "]}";
    auto p = policy(text);
    auto d = p.evaluate(anonymous("elasticfilesystem:ClientRootAccess"));
    CHECK(d.effect == Effect::deny);
    CHECK(d.statement == "noroot");
    CHECK(p.evaluate(anonymous("elasticfilesystem:ClientWrite")).allowed());
  }
}

TEST_CASE("aws:SecureTransport: the EFS 'enforce in-transit encryption' policy") {
  auto p = policy(R"({"Statement":[
    {"Effect":"Allow","Principal":{"AWS":"*"},"Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite"],
     "Condition":{"Bool":{"elasticfilesystem:AccessedViaMountTarget":"true"}}},
    {"Sid":"tls","Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]})");
  CHECK(p.evaluate(anonymous("elasticfilesystem:ClientMount", /*tls=*/true)).allowed());
  auto plain = p.evaluate(anonymous("elasticfilesystem:ClientMount", /*tls=*/false));
  CHECK(plain.effect == Effect::deny);
  CHECK(plain.statement == "tls");
}

TEST_CASE("principals: account id, root ARN, user ARN, role and its sessions; anonymous only by *") {
  auto p = policy(R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":[
      "444455556666","arn:aws:iam::777788889999:root","arn:aws:iam::111122223333:user/alice",
      "arn:aws:iam::111122223333:role/app/worker"]},"Action":"elasticfilesystem:ClientMount"}]})");
  const std::string mount = "elasticfilesystem:ClientMount";
  CHECK(p.evaluate(user("arn:aws:iam::444455556666:user/anyone", mount)).allowed());
  CHECK(p.evaluate(user("arn:aws:iam::777788889999:role/r", mount)).allowed());
  CHECK(p.evaluate(user("arn:aws:iam::111122223333:user/alice", mount)).allowed());
  CHECK_FALSE(p.evaluate(user("arn:aws:iam::111122223333:user/bob", mount)).allowed());
  CHECK(p.evaluate(user("arn:aws:sts::111122223333:assumed-role/worker/task-1", mount)).allowed());
  CHECK_FALSE(p.evaluate(user("arn:aws:sts::111122223333:assumed-role/other/task-1", mount)).allowed());
  CHECK_FALSE(p.evaluate(anonymous(mount)).allowed());
}

TEST_CASE("NotPrincipal, NotAction and NotResource invert their match") {
  auto p = policy(R"({"Statement":[
    {"Effect":"Allow","Principal":"*","Action":"elasticfilesystem:*"},
    {"Sid":"only-alice-writes","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},
     "NotAction":["elasticfilesystem:ClientMount"]},
    {"Sid":"other-fs","Effect":"Deny","Principal":"*","Action":"*","NotResource":")" + kFs + R"("}]})");
  CHECK(p.evaluate(user("arn:aws:iam::111122223333:user/alice", "elasticfilesystem:ClientWrite")).allowed());
  auto bob = p.evaluate(user("arn:aws:iam::111122223333:user/bob", "elasticfilesystem:ClientWrite"));
  CHECK(bob.effect == Effect::deny);
  CHECK(bob.statement == "only-alice-writes");
  CHECK(p.evaluate(user("arn:aws:iam::111122223333:user/bob", "elasticfilesystem:ClientMount")).allowed());
  Request elsewhere = user("arn:aws:iam::111122223333:user/alice", "elasticfilesystem:ClientMount");
  elsewhere.resource = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1111111111111111f";
  CHECK(p.evaluate(elsewhere).statement == "other-fs");
}

TEST_CASE("actions match case-insensitively with wildcards; resources case-sensitively") {
  auto p = policy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"ElasticFileSystem:Client*",
    "Resource":"arn:aws:elasticfilesystem:*:111122223333:file-system/fs-0123456789abcdef?"}})");
  CHECK(p.evaluate(anonymous("elasticfilesystem:ClientWrite")).allowed());
  CHECK_FALSE(p.evaluate(anonymous("elasticfilesystem:DescribeFileSystems")).allowed());
  Request upper = anonymous("elasticfilesystem:ClientWrite");
  upper.resource = "arn:aws:elasticfilesystem:us-east-1:111122223333:FILE-SYSTEM/fs-0123456789abcdef0";
  CHECK_FALSE(p.evaluate(upper).allowed());
}

TEST_CASE("access point conditions: ArnEquals / StringLike on elasticfilesystem:AccessPointArn") {
  const std::string ap = "arn:aws:elasticfilesystem:us-east-1:111122223333:access-point/fsap-0123456789abcdef0";
  auto p = policy(R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},
    "Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite"],
    "Condition":{"ArnEquals":{"elasticfilesystem:AccessPointArn":")" + ap + R"("}}}]})");
  Request through = anonymous("elasticfilesystem:ClientMount");
  through.context["elasticfilesystem:accesspointarn"] = ap;
  CHECK(p.evaluate(through).allowed());
  // Mounting the file system root: the key is absent, a positive operator fails.
  CHECK_FALSE(p.evaluate(anonymous("elasticfilesystem:ClientMount")).allowed());
  Request other = through;
  other.context["elasticfilesystem:accesspointarn"] = ap.substr(0, ap.size() - 1) + "1";
  CHECK_FALSE(p.evaluate(other).allowed());
}

TEST_CASE("an absent key: positive operators fail, negated ones hold, IfExists and ForAllValues hold") {
  auto with = [](const std::string& cond) {
    return policy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":)" + cond + "}}");
  };
  Request r = anonymous("elasticfilesystem:ClientMount");
  CHECK_FALSE(with(R"({"StringEquals":{"aws:username":"x"}})").evaluate(r).allowed());
  CHECK(with(R"({"StringNotEquals":{"aws:username":"x"}})").evaluate(r).allowed());
  CHECK(with(R"({"StringEqualsIfExists":{"aws:username":"x"}})").evaluate(r).allowed());
  CHECK(with(R"({"ForAllValues:StringEquals":{"aws:username":"x"}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"ForAnyValue:StringEquals":{"aws:username":"x"}})").evaluate(r).allowed());
  CHECK(with(R"({"Null":{"aws:username":"true"}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"Null":{"aws:securetransport":"true"}})").evaluate(r).allowed());
  // An operator IAM does not define never matches.
  CHECK_FALSE(with(R"({"StringSortOf":{"aws:securetransport":"false"}})").evaluate(r).allowed());
}

TEST_CASE("several values OR, negated several values NOR, several keys and operators AND") {
  auto p = policy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{
    "StringEquals":{"aws:sourcevpc":["vpc-1","vpc-2"],"elasticfilesystem:accessedviamounttarget":"true"},
    "StringNotLike":{"aws:userid":["AIDA*","AROA*"]}}}})");
  Request r = anonymous("elasticfilesystem:ClientMount");
  r.context["aws:sourcevpc"] = "vpc-2";
  r.context["aws:userid"] = "anonymous";
  CHECK(p.evaluate(r).allowed());
  r.context["aws:userid"] = "AROAEXAMPLE:session";
  CHECK_FALSE(p.evaluate(r).allowed());
  r.context["aws:userid"] = "anonymous";
  r.context["aws:sourcevpc"] = "vpc-3";
  CHECK_FALSE(p.evaluate(r).allowed());
  r.context["aws:sourcevpc"] = "vpc-1";
  r.context["elasticfilesystem:accessedviamounttarget"] = "false";
  CHECK_FALSE(p.evaluate(r).allowed());
}

TEST_CASE("numeric, date and address operators") {
  auto with = [](const std::string& cond) {
    return policy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":)" + cond + "}}");
  };
  Request r = anonymous("elasticfilesystem:ClientMount");
  r.context["aws:multifactorauthage"] = "300";
  r.context["aws:currenttime"] = "2026-12-02T10:00:00Z";
  r.context["aws:sourceip"] = "127.0.0.5";
  CHECK(with(R"({"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"NumericGreaterThan":{"aws:MultiFactorAuthAge":3600}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"NumericEquals":{"aws:MultiFactorAuthAge":"many"}})").evaluate(r).allowed());
  CHECK(with(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-12-01"}})").evaluate(r).allowed());
  CHECK(with(R"({"DateLessThanEquals":{"aws:CurrentTime":"2026-12-02T10:00:00.000Z"}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"DateLessThan":{"aws:CurrentTime":"1796205600"}})").evaluate(r).allowed());
  CHECK(with(R"({"DateLessThan":{"aws:CurrentTime":"1796205601"}})").evaluate(r).allowed());
  CHECK(with(R"({"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}})").evaluate(r).allowed());
  CHECK_FALSE(with(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})").evaluate(r).allowed());
  CHECK(with(R"({"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","::1/128"]}})").evaluate(r).allowed());
}

TEST_CASE("skip_statement: a Deny that may not apply is not counted") {
  auto p = policy(R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"*",
    "Condition":{"StringEquals":{"aws:sourcevpce":"vpce-1"}}}]})");
  Request r = user("arn:aws:iam::111122223333:root", "elasticfilesystem:PutFileSystemPolicy");
  CHECK(p.evaluate(r, Unknowns::skip_statement).effect == Effect::none);
  CHECK(p.evaluate(r, Unknowns::iam_rules).effect == Effect::none);  // absent key: false
  auto negated = policy(R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"*",
    "Condition":{"StringNotEquals":{"aws:sourcevpce":"vpce-1"}}}]})");
  CHECK(negated.evaluate(r, Unknowns::iam_rules).effect == Effect::deny);
  CHECK(negated.evaluate(r, Unknowns::skip_statement).effect == Effect::none);
}

TEST_CASE("documents that are not policies are refused") {
  CHECK_FALSE(Policy::parse("not json").has_value());
  CHECK_FALSE(Policy::parse("[]").has_value());
  CHECK_FALSE(Policy::parse(R"({"Version":"2012-10-17"})").has_value());
  CHECK_FALSE(Policy::parse(R"({"Statement":[1]})").has_value());
  CHECK(Policy::parse(R"({"Statement":[]})")->statement_count() == 0);
}
