// The results folder: trials.csv and pareto.csv, best.json, report.html and the summary line
// hold the job's numbers, with parameter counts as integers; the terminal lists only the most
// important decisions, the report all of them.

#include "experiment/read_text.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/experiment/results.hpp>
#include <xnas/space/cell_space.hpp>

using xnas::cell_space;
using namespace xnas::experiment;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using xnas_test::read_text;

/// 24 random cells; accuracy rises with edge 0's op, parameters with the cell's index.
job_record<cell_space::architecture> searched(const cell_space& space) {
    job_record<cell_space::architecture> rec;
    rec.search.objectives = {{"val_accuracy", xnas::direction::maximize},
                             {"params", xnas::direction::minimize}};
    xnas::rng g(11);
    for (std::uint64_t i = 0; i < 24; ++i) {
        xnas::scored<cell_space::architecture> r{{i, space.sample(g)}, {}};
        r.e.objectives["val_accuracy"] = 0.5 + 0.05 * r.t.architecture.ops[0];
        r.e.objectives["params"] = 1000000.0 + 100000.0 * static_cast<double>(i) + 34567;
        r.e.objectives["flops"] = 2.5e7;
        r.e.objectives["latency_ms"] = 0.25;
        r.e.cost = 2;
        rec.search.history.push_back(std::move(r));
    }
    rec.search.history[5].e = xnas::evaluation::failure(xnas::status::failed, "budget, \"big\"");
    rec.finished_at[0] = 1.5;
    rec.test_accuracy = 0.875;
    rec.retrain_epochs = 3;
    rec.retrain_plain_epochs = 1;
    rec.retrain_recipe.optimizer = "adamw";
    return rec;
}

} // namespace

TEST_CASE("trials.csv and pareto.csv hold every trial and the front", "[experiment][results]") {
    const auto space = cell_space::nb201();
    const auto rec = searched(space);
    const fs::path dir = fs::temp_directory_path() / "xnas-test-results-tables";
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_search_tables(dir, rec.search, space);
    const std::string trials = read_text(dir / "trials.csv");
    CHECK_THAT(trials,
               StartsWith("id,architecture,status,message,fidelity,cost,val_accuracy,params,flops,"
                          "latency_ms\n0," +
                          space.to_string(rec.search.history[0].t.architecture) + ",ok,,1,2," +
                          xnas::detail::csv_number(rec.search.history[0].e.value("val_accuracy")) +
                          ",1034567,25000000,0.25\n"));
    CHECK_THAT(trials, Contains("\n5," + space.to_string(rec.search.history[5].t.architecture) +
                                ",failed,\"budget, \"\"big\"\"\",1,0,,,,\n"));
    CHECK(std::count(trials.begin(), trials.end(), '\n') == 25);
    const std::string pareto = read_text(dir / "pareto.csv");
    std::string expected = "id,architecture,val_accuracy,params,flops,latency_ms\n";
    for (std::size_t i : rec.search.pareto_front()) {
        const auto& r = rec.search.history[i];
        expected += std::to_string(r.t.id) + "," + space.to_string(r.t.architecture) + "," +
                    xnas::detail::csv_number(r.e.value("val_accuracy")) + "," +
                    std::to_string(1034567 + 100000 * r.t.id) + ",25000000,0.25\n";
    }
    CHECK(pareto == expected);
    CHECK(rec.search.pareto_front().size() >= 1);
    fs::remove_all(dir);
    // Whole numbers in full, fractions shortest-exact.
    CHECK(xnas::detail::csv_number(1e6) == "1000000");
    CHECK(xnas::detail::csv_number(2.5e7) == "25000000");
    CHECK(xnas::detail::csv_number(0.1) == "0.1");
    CHECK(xnas::detail::csv_number(1e20) == "1e+20");
}

TEST_CASE("best.json, report.html and the summary name the winner with integer counts",
          "[experiment][results]") {
    const auto space = cell_space::nb201();
    auto rec = searched(space);
    const options o{.space = "cell",
                    .strategy = "evolution",
                    .seed = 9,
                    .out = (fs::temp_directory_path() / "xnas-test-results-files").string()};
    fs::remove_all(o.out);
    fs::create_directories(o.out);
    const auto& best = rec.winner();
    const std::string arch = space.to_string(best.t.architecture);

    auto importance = write_job_results(o, space, rec, 2);
    const auto j = xnas::json::value::parse(read_text(fs::path(o.out) / "best.json"));
    CHECK(j.at("architecture").get<std::string>() == arch);
    CHECK(j.at("trial").get<std::uint64_t>() == best.t.id);
    CHECK(j.at("params").is_integer());
    CHECK(j.at("params").get<std::int64_t>() == std::llround(best.e.value("params")));
    CHECK(j.at("flops").is_integer());
    CHECK(j.at("test_accuracy").get<double>() == 0.875);
    CHECK(j.at("retrain_optimizer").get<std::string>() == "adamw");
    CHECK(j.at("retrain_plain_epochs").get<std::size_t>() == 1);
    CHECK(!j.find("selection"));
    CHECK_THAT(
        read_text(fs::path(o.out) / "best.json"),
        Contains("\"params\": " + std::to_string(std::llround(best.e.value("params"))) + ",\n"));

    const std::string html = read_text(fs::path(o.out) / "report.html");
    CHECK_THAT(html, Contains("xnas-search: cell space, evolution"));
    CHECK_THAT(html, Contains("<code>" + std::to_string(std::llround(best.e.value("params"))) +
                              "</code>"));
    CHECK_THAT(html, Contains("24 (1 failed)"));
    // Every decision is in the report, and parameter counts are whole numbers there too.
    REQUIRE(importance.size() >= 2);
    for (const auto& d : importance)
        CHECK_THAT(html, Contains(xnas::report::detail::escape(d.decision)));
    CHECK_THAT(html, Contains(", 2234567</title>"));
    CHECK(html.find("e+06") == std::string::npos);

    const auto summary = job_summary(o, arch, rec);
    CHECK_THAT(summary.dump(), StartsWith("{\"best_arch\":\"" + arch + "\",\"val_accuracy\":"));
    CHECK_THAT(summary.dump(),
               Contains(",\"params\":" + std::to_string(std::llround(best.e.value("params"))) +
                        ",\"trials\":24,\"failed\":1,"));
    CHECK(!summary.find("selection_val_accuracy"));

    // With a final selection: its ranking in best.json, its winner retrained.
    xnas::scored<cell_space::architecture> again = rec.search.history[7];
    again.e.objectives["val_accuracy"] = 0.99;
    rec.selection = {{7, again}, {best.t.id, best}};
    rec.selection_epochs = 4;
    rec.selection_images = 1000;
    write_job_results(o, space, rec, 2);
    const auto js = xnas::json::value::parse(read_text(fs::path(o.out) / "best.json"));
    CHECK(js.at("trial").get<std::uint64_t>() == 7);
    CHECK(js.at("selection").size() == 2);
    CHECK(js.at("selection_val_accuracy").get<double>() == 0.99);
    CHECK(js.at("selection_images").get<std::size_t>() == 1000);
    const auto sj = job_summary(o, arch, rec).dump();
    CHECK_THAT(sj, Contains("\"selection_val_accuracy\":0.99,\"search_best_val_accuracy\":"));
    fs::remove_all(o.out);
}

TEST_CASE("the terminal lists the top decisions, leaving out those near 0 %",
          "[experiment][results]") {
    using xnas::report::decision_importance;
    std::vector<decision_importance> imp;
    for (double share : {0.41, 0.2, 0.1, 0.05, 0.04, 0.03, 0.0004, 0.0})
        imp.push_back({"d" + std::to_string(imp.size()), share, share, {{"v", 0.9}}});
    const std::string text = top_decisions(imp);
    CHECK(text == "decision importance (chance-adjusted share of validation-accuracy variance):\n"
                  "  d0: 41.0 % (best v)\n"
                  "  d1: 20.0 % (best v)\n"
                  "  d2: 10.0 % (best v)\n"
                  "  d3: 5.0 % (best v)\n"
                  "  d4: 4.0 % (best v)\n"
                  "  (3 more decisions in report.html)\n");
    // Rows that would print as 0.0 % are left out even below the limit.
    const std::vector<decision_importance> few{imp[0], imp[6], imp[7]};
    CHECK(top_decisions(few, 5) ==
          "decision importance (chance-adjusted share of validation-accuracy variance):\n"
          "  d0: 41.0 % (best v)\n"
          "  (2 more decisions in report.html)\n");
    CHECK_THAT(top_decisions({imp[7]}), Contains("no decision explains more than 0.05 %"));
    CHECK(top_decisions({}).empty());
    CHECK(top_decisions(imp, 2).find("d2") == std::string::npos);

    // From a study: accuracy follows edge 0's op alone, which leads the list.
    const auto space = cell_space::nb201();
    const auto rec = searched(space);
    const auto found = decisions_by_importance(space, rec.search);
    REQUIRE(!found.empty());
    const auto [i, j] = space.edge(0);
    const std::string edge0 = "edge " + std::to_string(i) + "->" + std::to_string(j);
    CHECK(found.front().decision == edge0);
    CHECK_THAT(top_decisions(found), StartsWith("decision importance (chance-adjusted share of "
                                                "validation-accuracy variance):\n  " +
                                                edge0 + ": 100.0 %"));
    // Main effects need 8 full-fidelity successes.
    auto few_trials = rec.search;
    few_trials.history.resize(8); // one of them failed
    CHECK(decisions_by_importance(space, few_trials).empty());
}

TEST_CASE("a transfer that beat the search is the winner of best.json and the summary",
          "[experiment][results]") {
    const auto space = cell_space::nb201();
    auto rec = searched(space);
    const options o{.out = "out"};
    rec.transfer = transfer_outcome{.model = "old/best_model.xnas", .value = 0.99, .params = 4321};
    const auto searched_best = best_json(o, space, rec);
    CHECK(searched_best.at("transfer").at("chosen").get<bool>() == false);
    CHECK(searched_best.at("architecture").get<std::string>() ==
          space.to_string(rec.winner().t.architecture));

    rec.transfer->chosen = true;
    const auto j = best_json(o, space, rec);
    CHECK(j.at("architecture").get<std::string>() == "transfer of old/best_model.xnas");
    CHECK(j.at("search_architecture").get<std::string>() ==
          space.to_string(rec.winner().t.architecture));
    CHECK(j.at("val_accuracy").get<double>() == 0.99);
    CHECK(j.at("params").get<std::int64_t>() == 4321);
    CHECK(j.at("flops").is_null());
    CHECK(j.at("transfer").at("val_accuracy").get<double>() == 0.99);
    const auto summary = job_summary(o, "searched", rec);
    CHECK(summary.at("best_arch").get<std::string>() == "transfer of old/best_model.xnas");
    CHECK(summary.at("params").get<std::int64_t>() == 4321);
}
