// The main job on a user's data: generated .npy and CSV folders with known answers, regression
// end to end, the spaces sized to the samples, and transfer of a saved network.

#include "read_text.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/json.hpp>
#include <xnas/core/rng.hpp>
#include <xnas/data/npy.hpp>
#include <xnas/experiment/main_job.hpp>
#include <xnas/nn/layers/activation.hpp>
#include <xnas/nn/layers/dense.hpp>
#include <xnas/nn/layers/flatten.hpp>
#include <xnas/nn/serialize.hpp>

using namespace xnas;
using namespace xnas::experiment;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace fs = std::filesystem;

namespace user_data_test {

fs::path user_data_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("xnas_test_user_data_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

/// y = 2 x0 - x1 + 0.5 x2^2 over x uniform in [-1, 1]^3: a regression with a known answer.
double relation(const float* x) {
    return 2.0 * x[0] - x[1] + 0.5 * x[2] * x[2];
}

void write_regression_npy(const fs::path& dir, std::size_t n_train, std::size_t n_test) {
    fs::create_directories(dir);
    rng g(21);
    for (const auto& [split, n] : {std::pair{"train", n_train}, std::pair{"test", n_test}}) {
        std::vector<float> x(n * 3);
        std::vector<double> y(n);
        for (auto& v : x)
            v = static_cast<float>(g.uniform(-1.0, 1.0));
        for (std::size_t i = 0; i < n; ++i)
            y[i] = relation(&x[i * 3]);
        data::write_npy(dir / (std::string("x_") + split + ".npy"), {n, 3}, x.data());
        data::write_npy(dir / (std::string("y_") + split + ".npy"), {n}, y.data());
    }
}

/// The standard deviation of relation() over many draws: a predictor of the mean scores it.
double relation_stddev() {
    rng g(5);
    double sum = 0, sq = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const float x[3] = {static_cast<float>(g.uniform(-1.0, 1.0)),
                            static_cast<float>(g.uniform(-1.0, 1.0)),
                            static_cast<float>(g.uniform(-1.0, 1.0))};
        const double y = relation(x);
        sum += y;
        sq += y * y;
    }
    return std::sqrt(sq / n - (sum / n) * (sum / n));
}

options small_job(const fs::path& data, const fs::path& out) {
    options o;
    o.data = data.string();
    o.strategy = "random";
    o.trials = 4;
    o.epochs = 8;
    o.workers = 1;
    o.final_epochs = 20;
    o.out = out.string();
    return o;
}

json::value read_json(const fs::path& p) {
    return json::value::parse(xnas_test::read_text(p));
}

} // namespace user_data_test

using namespace user_data_test;

TEST_CASE("a regression job on .npy files learns a known relation and reports RMSE and R²",
          "[experiment][user_data]") {
    const fs::path dir = user_data_dir("regression");
    write_regression_npy(dir / "data", 1200, 400);
    options o = small_job(dir / "data", dir / "out");
    o.task = "regression";
    o.select = 2; // the final selection ranks by val_rmse too
    std::ostringstream log;
    const auto result = run_main_job(o, log);
    const json::value& s = result.summary;
    INFO(s.dump());
    INFO(log.str());
    // The relation's spread is about 1.2; a network that learned it does far better than the
    // mean, in the data's units.
    const double spread = relation_stddev();
    CHECK(s.at("test_rmse").get<double>() < 0.35 * spread);
    CHECK(s.at("test_r2").get<double>() > 0.85);
    CHECK(s.at("val_rmse").get<double>() < 0.5 * spread);
    CHECK(!s.find("test_accuracy"));
    CHECK_THAT(log.str(), Contains("best val_rmse"));
    CHECK_THAT(log.str(), Contains("data: npy, 1200 training samples (1080 searched, 120 "
                                   "validating), 400 test samples, each (3), 1 target value\n"));

    const json::value best = read_json(dir / "out" / "best.json");
    CHECK(best.at("task").get<std::string>() == "regression");
    // The selection's winner has the lowest val_rmse of the re-evaluated networks.
    const json::value& selection = best.at("selection");
    REQUIRE(selection.size() == 2);
    CHECK(selection.at(std::size_t{0}).at("selection_val_rmse").get<double>() <=
          selection.at(std::size_t{1}).at("selection_val_rmse").get<double>());
    CHECK(s.at("selection_val_rmse").get<double>() ==
          selection.at(std::size_t{0}).at("selection_val_rmse").get<double>());
    CHECK(best.at("target_normalization").at("stddev").size() == 1);
    CHECK(best.at("input_normalization").at("mean").size() == 3); // one per feature
    CHECK_THAT(best.at("architecture").get<std::string>(), StartsWith("dense("));
    // The winner is the trial with the lowest val_rmse: the direction is followed.
    CHECK_THAT(xnas_test::read_text(dir / "out" / "pareto.csv"),
               StartsWith("id,architecture,val_rmse,params"));
    const std::string trials = xnas_test::read_text(dir / "out" / "trials.csv");
    CHECK_THAT(trials, Contains("val_rmse") && Contains("val_r2"));
    CHECK_THAT(xnas_test::read_text(dir / "out" / "report.html"), Contains("validation RMSE"));
    fs::remove_all(dir);
}

TEST_CASE("a classification job reads a CSV table with text labels in a named column",
          "[experiment][user_data]") {
    const fs::path dir = user_data_dir("csv");
    fs::create_directories(dir / "data");
    rng g(3);
    for (const auto& [split, n] : {std::pair{"train", 600}, std::pair{"test", 200}}) {
        std::ofstream csv(dir / "data" / (std::string(split) + ".csv"));
        csv << "width,species,height\n";
        for (int i = 0; i < n; ++i) {
            const int c = i % 3;
            const char* names[] = {"setosa", "versicolor", "virginica"};
            csv << 2.0 * c + 0.3 * g.normal() << ',' << names[c] << ',' << -c + 0.3 * g.normal()
                << '\n';
        }
    }
    options o = small_job(dir / "data", dir / "out");
    o.label = "species";
    std::ostringstream log;
    const auto result = run_main_job(o, log);
    INFO(result.summary.dump());
    CHECK(result.summary.at("test_accuracy").get<double>() > 0.95);
    const json::value best = read_json(dir / "out" / "best.json");
    CHECK(best.at("input_normalization").at("mean").size() == 2);

    o.label = "colour";
    o.out = (dir / "out2").string();
    CHECK_THROWS_WITH(run_main_job(o, log), Contains("colour") && Contains("train.csv"));
    o.label = "species";
    o.space = "cell";
    CHECK_THROWS_WITH(run_main_job(o, log), Contains("--space cell needs images") &&
                                                Contains("(2)") && Contains("--space chain"));
    fs::remove_all(dir);
}

TEST_CASE("spaces take the data's sample shape and outputs; colour images become rows",
          "[experiment][user_data]") {
    options o;
    o.max_params = 0;
    o.max_mflops = 0;
    visit_space(o, {3, 8, 8}, 4, [](const auto& space, const auto& builder, bool sequences) {
        rng g(1);
        const auto net = builder.build(space.sample(g), g);
        CHECK(net.input_shape() == nn::shape{3, 8, 8});
        CHECK(net.node_shape(net.size() - 1) == nn::shape{4});
        CHECK(!sequences);
    });
    visit_space(o, {7}, 2, [](const auto& space, const auto& builder, bool) {
        rng g(2);
        const auto a = space.sample(g);
        CHECK_THAT(space.to_string(a), !Contains("conv("));
        CHECK(builder.build(a, g).node_shape(0) == nn::shape{7});
    });
    o.space = "rnn";
    visit_space(o, {8, 12}, 3, [](const auto& space, const auto& builder, bool sequences) {
        rng g(3);
        CHECK(builder.build(space.sample(g), g).input_shape() == nn::shape{8, 12});
        CHECK(sequences);
    });
    CHECK_THROWS_WITH(visit_space(o, {3, 8, 8}, 3, [](const auto&, const auto&, bool) {}),
                      Contains("--space rnn needs sequences"));

    data::dataset<float> ds;
    ds.x = nn::array<float>::from_shape({2, 3, 2, 4});
    for (std::size_t i = 0; i < ds.x.size(); ++i)
        ds.x.data()[i] = static_cast<float>(i);
    ds.labels = {0, 1};
    ds.num_classes = 2;
    const nn::array<float> images = ds.x;
    images_as_rows(ds);
    REQUIRE(ds.x.shape()[1] == 2);
    REQUIRE(ds.x.shape()[2] == 12);
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t r = 0; r < 2; ++r)
                for (std::size_t w = 0; w < 4; ++w)
                    CHECK(ds.x(n, r, c * 4 + w) == images(n, c, r, w));
}

namespace user_data_test {

/// Images (N, 1, 6, 6) of `classes` classes: class c lights up row c, on noise.
void write_image_npy(const fs::path& dir, std::size_t classes, std::uint64_t seed) {
    fs::create_directories(dir);
    rng g(seed);
    for (const auto& [split, n] :
         {std::pair{"train", std::size_t{400}}, std::pair{"test", std::size_t{120}}}) {
        std::vector<float> x(n * 36);
        std::vector<std::int64_t> y(n);
        for (std::size_t i = 0; i < n; ++i) {
            y[i] = static_cast<std::int64_t>(i % classes);
            for (std::size_t p = 0; p < 36; ++p)
                x[i * 36 + p] = static_cast<float>(0.2 * g.uniform(0.0, 1.0) +
                                                   (p / 6 == static_cast<std::size_t>(y[i])));
        }
        data::write_npy(dir / (std::string("x_") + split + ".npy"), {n, 1, 6, 6}, x.data());
        data::write_npy(dir / (std::string("y_") + split + ".npy"), {n}, y.data());
    }
}

} // namespace user_data_test

TEST_CASE("a transfer fine-tunes a saved network for new classes, alone or beside a search",
          "[experiment][user_data][transfer]") {
    const fs::path dir = user_data_dir("transfer");
    write_image_npy(dir / "data", 5, 8);
    // A saved network of another task: 3 classes, the same 1 x 6 x 6 samples.
    rng g(4);
    nn::network<float> base({1, 6, 6});
    base.add(nn::flatten<float>());
    base.add(nn::dense<float>(36, 16));
    base.add(nn::relu<float>());
    base.add(nn::dense<float>(16, 3));
    nn::init::apply(base, nn::init::scheme::pytorch_default, g);
    nn::save(base, dir / "base.xnas");

    options o = small_job(dir / "data", dir / "alone");
    o.transfer = (dir / "base.xnas").string();
    o.transfer_only = true;
    o.final_epochs = 6;
    std::ostringstream log;
    const auto alone = run_main_job(o, log);
    INFO(alone.summary.dump());
    CHECK(alone.summary.at("test_accuracy").get<double>() > 0.9);
    CHECK_THAT(alone.summary.at("best_arch").get<std::string>(), StartsWith("transfer of "));
    const auto tuned = nn::load<float>(dir / "alone" / "best_model.xnas");
    CHECK(tuned.node_shape(tuned.size() - 1) == nn::shape{5}); // the new head
    CHECK(!fs::exists(dir / "alone" / "journal.jsonl"));       // no search

    o.transfer_only = false;
    o.trials = 2;
    o.out = (dir / "beside").string();
    const auto beside = run_main_job(o, log);
    INFO(beside.summary.dump());
    const json::value& t = beside.summary.at("transfer");
    CHECK(t.at("params").get<std::size_t>() == 36 * 16 + 16 + 16 * 5 + 5);
    const double tv = t.at("val_accuracy").get<double>();
    CHECK(tv > 0.5);
    // Chosen exactly when it beat the search's winner on validation.
    const json::value best = read_json(dir / "beside" / "best.json");
    const bool chosen = t.at("chosen").get<bool>();
    CHECK(chosen == best.at("architecture").get<std::string>().starts_with("transfer of "));
    CHECK_THAT(log.str(), Contains("transfer candidate: "));

    // A network for other samples is refused, naming the file and both shapes.
    nn::network<float> other({1, 5, 5});
    other.add(nn::flatten<float>());
    other.add(nn::dense<float>(25, 3));
    nn::init::apply(other, nn::init::scheme::pytorch_default, g);
    nn::save(other, dir / "other.xnas");
    o.transfer = (dir / "other.xnas").string();
    o.out = (dir / "refused").string();
    CHECK_THROWS_WITH(run_main_job(o, log),
                      Contains("other.xnas") && Contains("(1, 5, 5)") && Contains("(1, 6, 6)"));
    fs::remove_all(dir);
}
