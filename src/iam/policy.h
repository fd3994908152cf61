// IAM resource policies, evaluated: the file system policy of
// PutFileSystemPolicy decides what an NFS client may do (ClientMount,
// ClientWrite, ClientRootAccess), and the same evaluator answers the API's
// lockout safety check (efs/policy.cc).
//
// Evaluation follows the IAM policy evaluation logic for one resource-based
// policy: an explicit Deny that applies wins; otherwise an Allow that applies
// allows; otherwise the request is implicitly denied. Identity-based policies
// are not modelled (efs-local has no IAM users with policies of their own),
// so the resource policy alone decides; README says so.
//
// A statement applies when its Principal (or NotPrincipal), Action (or
// NotAction), Resource (or NotResource) and every Condition match. Condition
// operators (IAM JSON policy elements: Condition operators): the String*,
// Arn*, Numeric*, Date* families with their Not forms, Bool, Null, IpAddress
// and NotIpAddress, BinaryEquals, each with the ...IfExists suffix and the
// ForAnyValue: / ForAllValues: qualifiers. Context keys here hold one value
// each, so ForAnyValue: is the plain operator and ForAllValues: also holds
// when the key is absent. A key absent from the request makes a positive
// operator false and a negated one true ("This logic applies to all condition
// operators except ...IfExists and Null"). Policy variables (${aws:username})
// are compared literally.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace efs::iam {

// Who asks for what, on what, with which context keys.
struct Request {
  // The caller's ARN (arn:aws:iam::123456789012:user/x, ...:root, or an STS
  // assumed-role session); empty for an anonymous caller.
  std::string principal_arn;
  std::string principal_account;  // 12 digits; empty when anonymous
  std::string action;             // service:Action, e.g. elasticfilesystem:ClientWrite
  std::string resource;           // the resource's ARN
  // Condition keys, names lower-cased (IAM key names are case-insensitive),
  // e.g. {"aws:securetransport", "true"}.
  std::map<std::string, std::string> context;
};

enum class Effect { allow, deny, none };  // none: no statement applies (implicit deny)

struct Decision {
  Effect effect = Effect::none;
  // The statement that decided: its Sid, or "Statement[i]" without one.
  // Empty for an implicit deny.
  std::string statement;
  bool allowed() const { return effect == Effect::allow; }
};

// What an absent condition key or an operator this evaluator does not know
// makes of a statement.
enum class Unknowns {
  // IAM's rules above; an unknown operator never matches.
  iam_rules,
  // The statement's applicability is unknown and it is skipped: only a
  // statement that surely applies counts (the lockout check: it refuses a
  // policy only when a Deny surely applies to the caller).
  skip_statement,
};

// One compiled statement (policy.cc builds them; Policy holds them).
struct Condition {
  std::string op;        // the base operator, e.g. StringLike (qualifiers stripped)
  bool if_exists = false;
  enum class Set { none, for_any_value, for_all_values } set = Set::none;
  std::string key;       // lower-cased
  std::vector<std::string> values;
};

struct Statement {
  std::string name;  // Sid or Statement[i]
  bool deny = false;
  // Principal: `any` for "*" or {"AWS": "*"}; else the AWS entries (account
  // ids or ARNs). negated for NotPrincipal.
  bool principal_any = false;
  std::vector<std::string> principals;
  bool principal_negated = false;
  std::vector<std::string> actions;  // lower-cased patterns
  bool action_negated = false;
  bool has_resource = false;  // no Resource: the policy's own resource
  std::vector<std::string> resources;
  bool resource_negated = false;
  std::vector<Condition> conditions;
};

class Policy {
 public:
  // Compiles a policy document as PutFileSystemPolicy accepted it (a JSON
  // object with Statement: one statement or a list). nullopt when it is not
  // such a document (the API checks documents before storing them).
  static std::optional<Policy> parse(std::string_view document);

  Decision evaluate(const Request& request, Unknowns unknowns = Unknowns::iam_rules) const;

  std::size_t statement_count() const { return statements_->size(); }

 private:
  explicit Policy(std::shared_ptr<const std::vector<Statement>> s) : statements_(std::move(s)) {}
  std::shared_ptr<const std::vector<Statement>> statements_;
};

}  // namespace efs::iam
