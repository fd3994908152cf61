// Checking a request's input against the model's input shape, the way AWS's
// front end does before any service code runs: required members, JSON types,
// enums, string and list lengths, numeric ranges, patterns, unknown members.
// Messages follow AWS's form, e.g.
//   Value 'x' at 'performanceMode' failed to satisfy constraint: Member must
//   satisfy enum value set: [generalPurpose, maxIO]
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/model.h"

namespace efs::api {

// Appends one message per violation found in value (a shape instance keyed by
// member names) to errors. path is the AWS-style location of value ("" at the
// top). JSON nulls count as absent.
void validate_shape(const Model& model, const Shape& shape, const nlohmann::json& value,
                    const std::string& path, std::vector<std::string>& errors);

// "1 validation error detected: ..." / "3 validation errors detected: a; b; c".
std::string validation_message(const std::vector<std::string>& errors);

// A text value (URI label, query parameter, header) typed per the target
// shape: integers parsed, booleans "true"/"false", timestamps as epoch seconds
// or ISO 8601. On failure returns false and appends a violation for path.
bool typed_from_text(const Shape& shape, const std::string& text, const std::string& path,
                     nlohmann::json& out, std::vector<std::string>& errors);

// The AWS-style path segment for a member: lower camel case ("FileSystemId" -> "fileSystemId").
std::string member_path(const std::string& parent, const std::string& member_name);

// Parses an ISO 8601 UTC time ("2026-11-25T10:58:43Z", optional fraction, or
// an offset) into epoch seconds.
bool parse_iso8601(const std::string& text, double& epoch_seconds);

// Bodies nested deeper than any model shape are refused before parsing
// (rest-json and JSON 1.1 alike): copying, dumping or destroying a
// million-deep nlohmann::json recurses per level and would overflow the stack.
inline constexpr int kMaxJsonDepth = 64;
// True if no array or object in text (JSON, strings skipped) nests deeper
// than limit. A scan, not a parse: malformed text is the parser's to refuse.
bool nesting_within(std::string_view text, int limit = kMaxJsonDepth);

}  // namespace efs::api
