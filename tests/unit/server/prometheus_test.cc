// The Prometheus text of /_efs-local/metrics (metrics/prometheus.h).
#include "metrics/prometheus.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace efs::metrics {

TEST_CASE("prometheus: histogram buckets are cumulative, with sum and count") {
  Histogram h;
  h.observe(std::chrono::microseconds(30));   // <= 50 us
  h.observe(std::chrono::microseconds(700));  // <= 1 ms
  h.observe(std::chrono::seconds(9));         // +Inf only
  std::string out;
  h.render(out, "x_seconds", "op=\"READ\"");
  CHECK(out.find("x_seconds_bucket{op=\"READ\",le=\"5e-05\"} 1\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{op=\"READ\",le=\"0.001\"} 2\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{op=\"READ\",le=\"5\"} 2\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{op=\"READ\",le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_count{op=\"READ\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_sum{op=\"READ\"} 9.00073") != std::string::npos);
}

TEST_CASE("prometheus: observations from many threads all count, whichever cell they land in") {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 1000; ++i) h.observe(std::chrono::microseconds(t < 3 ? 30 : 2000));
    });
  for (auto& t : threads) t.join();
  CHECK(h.count() == 6000);
  std::string out;
  h.render(out, "x_seconds", "");
  CHECK(out.find("x_seconds_bucket{le=\"5e-05\"} 3000\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"+Inf\"} 6000\n") != std::string::npos);
  CHECK(out.find("x_seconds_count 6000\n") != std::string::npos);
  const auto at = out.find("x_seconds_sum ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(out.substr(at + 14)) == doctest::Approx(6.09));
}

TEST_CASE("prometheus: the page names each family once, with HELP and TYPE, and escapes labels") {
  Registry r;
  r.observe_nfs_op(25, "READ", std::chrono::microseconds(10));
  r.observe_api_op("efs", "DescribeFileSystems", false, std::chrono::milliseconds(2));
  r.observe_api_op("efs", "DescribeFileSystems", true, std::chrono::milliseconds(2));
  Family g{"efs_local_storage_bytes",
           "gauge",
           "bytes",
           {{"file_system_id=\"" + label_value("a\"b") + "\"", 42}}};
  std::string page = r.render({g});
  CHECK(page.find("# TYPE efs_local_nfs_operation_seconds histogram\n") != std::string::npos);
  CHECK(page.find("efs_local_nfs_operation_seconds_count{op=\"READ\"} 1\n") != std::string::npos);
  CHECK(page.find("efs_local_api_request_seconds_count{service=\"efs\",operation="
                  "\"DescribeFileSystems\"} 2\n") != std::string::npos);
  CHECK(page.find(
            "efs_local_api_errors_total{service=\"efs\",operation=\"DescribeFileSystems\"} 1\n") !=
        std::string::npos);
  CHECK(page.find("# TYPE efs_local_storage_bytes "
                  "gauge\nefs_local_storage_bytes{file_system_id=\"a\\\"b\"} 42\n") !=
        std::string::npos);
}

}  // namespace efs::metrics
