// `mlc match --vendors VENDORS.json --merchants MERCHANTS.txt [--json] [--auto-accept X] [--review-min Y]
// [--margin Z] [--aliases FILE]`: runs the vendor matcher offline over a vendor list and card descriptors,
// so an operator can see (and tune thresholds for) what a pipeline would auto-accept, review or leave.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "match/matcher.hpp"
#include "match/normalize.hpp"
#include "mlc/json.hpp"

namespace mlc::cli {

namespace {

struct MatchOptions {
  std::string vendors_path;
  std::string merchants_path;
  std::string aliases_path;
  bool json = false;
  double auto_accept = 0.90;
  double review_min = 0.65;
  double margin = 0.08;
};

Result<std::string> ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid(std::string("cannot read ") + what + " file '" + path +
                           "': " + std::generic_category().message(errno));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return Status::Invalid(std::string("cannot read ") + what + " file '" + path + "'");
  return text;
}

Result<std::vector<match::Vendor>> ParseVendors(const std::string& text, const std::string& path) {
  const std::string where = "vendors file '" + path + "'";
  auto doc = mlc::json::ParseExact(text);
  if (!doc.ok()) return doc.status().Wrap(where);
  if (!doc->is_array()) {
    return Status::Invalid(where + ": expected a JSON array of objects with \"id\" and \"name\"");
  }
  std::vector<match::Vendor> vendors;
  vendors.reserve(doc->size());
  for (size_t i = 0; i < doc->size(); ++i) {
    const auto& v = (*doc)[i];
    const std::string at = where + ": vendor at index " + std::to_string(i);
    if (!v.is_object()) return Status::Invalid(at + ": expected an object");
    match::Vendor vendor;
    auto id = v.find("id");
    if (id == v.end() || id->is_null()) return Status::Invalid(at + ": missing \"id\"");
    if (id->is_string()) {
      vendor.id = id->get<std::string>();
    } else if (id->is_number_integer() || id->is_number_unsigned()) {
      vendor.id = id->dump();  // target systems with numeric ids (FreshBooks, Zoho)
    } else {
      return Status::Invalid(at + ": \"id\" must be a string or an integer");
    }
    if (vendor.id.empty()) return Status::Invalid(at + ": \"id\" is empty");
    auto name = v.find("name");
    if (name == v.end() || name->is_null()) return Status::Invalid(at + ": missing \"name\"");
    if (!name->is_string()) return Status::Invalid(at + ": \"name\" must be a string");
    vendor.name = name->get<std::string>();
    vendors.push_back(std::move(vendor));
  }
  return vendors;
}

std::vector<std::string> ParseMerchants(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    out.push_back(line);
  }
  return out;
}

double Round3(double x) { return std::round(x * 1000.0) / 1000.0; }

void PrintTable(const std::vector<std::string>& merchants, const std::vector<match::MatchResult>& results) {
  struct Row {
    std::string cells[5];
  };
  std::vector<Row> rows;
  rows.push_back({{"MERCHANT", "DECISION", "SCORE", "VENDOR_ID", "VENDOR_NAME"}});
  size_t counts[3] = {0, 0, 0};
  for (size_t i = 0; i < merchants.size(); ++i) {
    const auto& r = results[i];
    const auto* best = r.best();
    char score[16];
    std::snprintf(score, sizeof score, "%.3f", best ? best->score : 0.0);
    const bool has_vendor = best != nullptr && r.decision != match::Decision::kNone;
    rows.push_back({{merchants[i], std::string(match::DecisionName(r.decision)), score,
                     has_vendor ? best->vendor_id : "-", has_vendor ? best->vendor_name : "-"}});
    ++counts[static_cast<int>(r.decision)];
  }
  size_t width[5] = {0, 0, 0, 0, 0};
  for (const auto& row : rows) {
    for (int c = 0; c < 5; ++c) width[c] = std::max(width[c], row.cells[c].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (int c = 0; c < 5; ++c) {
      line += row.cells[c];
      if (c < 4) line += std::string(width[c] - row.cells[c].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  std::cout << "\n"
            << merchants.size() << " merchants: " << counts[0] << " auto, " << counts[1] << " review, "
            << counts[2] << " none\n";
}

int RunMatch(const MatchOptions& mo) {
  match::Thresholds thresholds{
      .auto_accept = mo.auto_accept, .review_min = mo.review_min, .min_margin = mo.margin};
  if (Status s = thresholds.Validate(); !s.ok()) {
    std::cerr << "mlc match: " << s.message() << " (--auto-accept, --review-min, --margin)\n";
    return kExitUsage;
  }
  auto table = match::NormalizerTable::Defaults();
  if (!table.ok()) {
    std::cerr << "mlc match: " << table.status().message() << "\n";
    return kExitFailed;
  }
  if (!mo.aliases_path.empty()) {
    auto text = ReadWholeFile(mo.aliases_path, "aliases");
    if (!text.ok()) {
      std::cerr << "mlc match: " << text.status().message() << "\n";
      return kExitFailed;
    }
    if (Status s = table->MergeJson(*text); !s.ok()) {
      std::cerr << "mlc match: aliases file '" << mo.aliases_path << "': " << s.message() << "\n";
      return kExitFailed;
    }
  }
  auto vendors_text = ReadWholeFile(mo.vendors_path, "vendors");
  if (!vendors_text.ok()) {
    std::cerr << "mlc match: " << vendors_text.status().message() << "\n";
    return kExitFailed;
  }
  auto vendors = ParseVendors(*vendors_text, mo.vendors_path);
  if (!vendors.ok()) {
    std::cerr << "mlc match: " << vendors.status().message() << "\n";
    return kExitFailed;
  }
  auto merchants_text = ReadWholeFile(mo.merchants_path, "merchants");
  if (!merchants_text.ok()) {
    std::cerr << "mlc match: " << merchants_text.status().message() << "\n";
    return kExitFailed;
  }
  const std::vector<std::string> merchants = ParseMerchants(*merchants_text);

  match::Matcher matcher(std::make_shared<const match::Normalizer>(std::move(*table)));
  if (Status s = matcher.Build(*vendors); !s.ok()) {
    std::cerr << "mlc match: vendors file '" << mo.vendors_path << "': " << s.message() << "\n";
    return kExitFailed;
  }
  const auto results = matcher.MatchAll(merchants, thresholds, 2);

  if (mo.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < merchants.size(); ++i) {
      const auto& r = results[i];
      const auto* best = r.best();
      const bool has_vendor = best != nullptr && r.decision != match::Decision::kNone;
      nlohmann::ordered_json row;
      row["merchant"] = merchants[i];
      row["vendor_id"] =
          has_vendor ? nlohmann::ordered_json(best->vendor_id) : nlohmann::ordered_json(nullptr);
      row["vendor_name"] =
          has_vendor ? nlohmann::ordered_json(best->vendor_name) : nlohmann::ordered_json(nullptr);
      row["score"] = Round3(best ? best->score : 0.0);
      row["decision"] = match::DecisionName(r.decision);
      out.push_back(std::move(row));
    }
    // Descriptors may hold bytes that are not UTF-8; replace them instead of failing the whole output.
    std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    PrintTable(merchants, results);
  }
  return kExitOk;
}

}  // namespace

void RegisterMatchCommands(CLI::App& app, GlobalOptions& opts) {
  auto mo = std::make_shared<MatchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "match", "Match card descriptors to vendors offline: auto-accept, review or none for each line");
  cmd->add_option("--vendors", mo->vendors_path, "JSON array of vendors: [{\"id\": ..., \"name\": ...}, ...]")
      ->required();
  cmd->add_option("--merchants", mo->merchants_path, "Text file, one card descriptor per line")->required();
  cmd->add_flag("--json", mo->json, "Print a JSON array instead of a table");
  cmd->add_option("--auto-accept", mo->auto_accept, "Score from which a clear best match is accepted");
  cmd->add_option("--review-min", mo->review_min, "Score from which a match goes to review");
  cmd->add_option("--margin", mo->margin, "Lead over the runner-up needed to auto-accept");
  cmd->add_option("--aliases", mo->aliases_path,
                  "JSON file extending the normalization table (aliases, processor_prefixes, ...)");
  cmd->callback([&opts, mo] { opts.exit_code = RunMatch(*mo); });
}

}  // namespace mlc::cli
