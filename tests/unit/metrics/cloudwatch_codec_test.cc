// The CloudWatch protocols' codecs (src/api/cloudwatch_codec.cc), against
// the model in spec/ and bytes as botocore writes them.
#include <doctest/doctest.h>

#include "api/cloudwatch.h"

using namespace efs::api;
using nlohmann::json;

namespace {

std::string hex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

TEST_CASE("the model loads, with its three protocols' names") {
  const Model& m = cloudwatch_model();
  CHECK(m.api_version() == "2010-08-01");
  CHECK(m.target_prefix() == "GraniteServiceVersion20100801");
  CHECK(m.operation("GetMetricStatistics") != nullptr);
  CHECK(m.error_status("InvalidParameterValueException") == 400);
  CHECK(m.shape("ResourceNotFound")->http_status == 404);
}

TEST_CASE("CBOR: tag 1 timestamps as botocore sends them are read") {
  // What botocore 1.43 sends for GetMetricStatistics(Namespace="A",
  // MetricName="B", StartTime=EndTime=1796196506, Period=60,
  // Statistics=["Average"]): StartTime is tag 1 (0xc1) + uint32.
  const std::string body = hex(
      "a6694e616d65737061636561416a4d65747269634e616d65614269537461727454696d65c11a6b0fc89a67456e"
      "6454696d65c11a6b0fc89a66506572696f64183c6a53746174697374696373816741766572616765");
  CHECK(json::from_cbor(body, true, false).is_discarded());  // why cbor_untag exists
  auto untagged = cbor_untag(body);
  REQUIRE(untagged);
  json in = json::from_cbor(*untagged);
  CHECK(in["Namespace"] == "A");
  CHECK(in["StartTime"] == 1796196506);
  CHECK(in["Period"] == 60);
  CHECK(in["Statistics"] == json({"Average"}));
}

TEST_CASE("CBOR: malformed items are refused, not overread") {
  CHECK(!cbor_untag(""));
  CHECK(!cbor_untag(hex("a1")));          // a map of one pair, no pair
  CHECK(!cbor_untag(hex("7a000000ff")));  // a text of 255 bytes, none there
  CHECK(!cbor_untag(hex("a0a0")));        // two items
  CHECK(!cbor_untag(hex("9f01")));        // indefinite array, no break
  std::string deep(100, '\x81');
  deep += '\x01';
  CHECK(!cbor_untag(deep));                                // nested deeper than any shape
  CHECK(cbor_untag(hex("bf6161c1fb41d0000000000000ff")));  // indefinite map, tagged double
}

TEST_CASE("CBOR: output per shape, timestamps tagged, doubles as doubles") {
  const Model& m = cloudwatch_model();
  json out = {{"Label", "BurstCreditBalance"},
              {"Datapoints", {{{"Timestamp", 1796196420.0}, {"Average", 5}, {"Unit", "Bytes"}}}}};
  std::string cbor = cbor_encode(m, *m.shape("GetMetricStatisticsOutput"), out);
  CHECK(cbor.find(hex("c11a6b0fc844")) != std::string::npos);        // tag 1, whole seconds
  CHECK(cbor.find(hex("fb4014000000000000")) != std::string::npos);  // 5.0 as a double
  auto back = json::from_cbor(*cbor_untag(cbor));
  CHECK(back["Label"] == "BurstCreditBalance");
  CHECK(back["Datapoints"][0]["Average"] == 5.0);
  CHECK(back["Datapoints"][0]["Timestamp"] == 1796196420);
  CHECK(!back["Datapoints"][0].contains("Sum"));
}

TEST_CASE("query: lists, nested structures and timestamps from form parameters") {
  const Model& m = cloudwatch_model();
  std::map<std::string, std::string> p = {
      {"Namespace", "AWS/EFS"},
      {"MetricName", "BurstCreditBalance"},
      {"Dimensions.member.1.Name", "FileSystemId"},
      {"Dimensions.member.1.Value", "fs-1"},
      {"StartTime", "2026-12-02T07:00:00Z"},
      {"EndTime", "2026-12-02T08:00:00.000Z"},
      {"Period", "60"},
      {"Statistics.member.2", "Minimum"},
      {"Statistics.member.1", "Average"},
  };
  std::vector<std::string> errors;
  json in = query_decode(m, *m.shape("GetMetricStatisticsInput"), p, errors);
  CHECK(errors.empty());
  CHECK(in["Dimensions"] == json({{{"Name", "FileSystemId"}, {"Value", "fs-1"}}}));
  CHECK(in["Statistics"] == json({"Average", "Minimum"}));
  CHECK(in["Period"] == 60);
  CHECK(in["EndTime"].get<double>() - in["StartTime"].get<double>() == 3600);

  p["Period"] = "sixty";
  query_decode(m, *m.shape("GetMetricStatisticsInput"), p, errors);
  CHECK(errors.size() == 1);

  std::map<std::string, std::string> q = {
      {"MetricDataQueries.member.1.Id", "b"},
      {"MetricDataQueries.member.1.MetricStat.Metric.Namespace", "AWS/EFS"},
      {"MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name", "FileSystemId"},
      {"MetricDataQueries.member.1.MetricStat.Period", "300"},
      {"MetricDataQueries.member.1.ReturnData", "false"},
  };
  errors.clear();
  json d = query_decode(m, *m.shape("GetMetricDataInput"), q, errors);
  CHECK(errors.empty());
  CHECK(d["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"][0]["Name"] ==
        "FileSystemId");
  CHECK(d["MetricDataQueries"][0]["MetricStat"]["Period"] == 300);
  CHECK(d["MetricDataQueries"][0]["ReturnData"] == false);
}

TEST_CASE("query: XML output per shape") {
  const Model& m = cloudwatch_model();
  json out = {{"Label", "B<1>"},
              {"Datapoints", {{{"Timestamp", 1796196420.0}, {"Average", 2.5}, {"Unit", "Bytes"}}}}};
  std::string xml = xml_encode(m, *m.shape("GetMetricStatisticsOutput"), out);
  CHECK(xml ==
        "<Label>B&lt;1&gt;</Label><Datapoints><member><Timestamp>2026-12-02T07:27:00Z</Timestamp>"
        "<Average>2.5</Average><Unit>Bytes</Unit></member></Datapoints>");
}
