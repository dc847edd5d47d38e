#include "comma_locale.hpp"
#include "gradient_check.hpp"
#include "network_test_layers.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/factory.hpp>
#include <xnas/nn/serialize.hpp>

using namespace xnas;
using Catch::Matchers::Contains;

namespace {

/// A file in the temp directory, removed at scope exit.
struct temp_file {
    std::filesystem::path path;
    explicit temp_file(const std::string& name)
        : path(std::filesystem::temp_directory_path() /
               ("xnas_test_serialize_" + std::to_string(::getpid()) + "_" + name)) {}
    ~temp_file() { std::filesystem::remove(path); }
    std::string bytes() const {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    void write(const std::string& b) const {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << b;
    }
};

template <class T>
nn::layer_factory<T> test_factory() {
    return [](const nn::layer_spec& s) -> std::optional<nn::any_layer<T>> {
        if (s.type == "test_tanh")
            return nn::any_layer<T>(test::tanh_layer<T>{});
        return std::nullopt;
    };
}

// A DAG with a user layer (test_tanh, rebuilt by the custom factory) and both merges.
template <class T>
nn::network<T> make_net(rng& g) {
    nn::network<T> net({6});
    auto a = net.add(nn::dense<T>(6, 8));
    auto b = net.add(test::tanh_layer<T>{});
    auto c = net.add(nn::dense<T>(8, 8), {a});
    auto d = net.add(nn::relu<T>(), {b, c}, nn::merge_op::add);
    net.add(nn::dense<T>(16, 3, false), {d, b}, nn::merge_op::concat);
    for (auto& p : net.parameters())
        test::fill_uniform(*p.value, g);
    return net;
}

template <class T>
bool bit_equal(const nn::array<T>& a, const nn::array<T>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
void sgd_steps(nn::network<T>& net, const nn::array<T>& x, int steps) {
    auto params = net.parameters();
    for (int s = 0; s < steps; ++s) {
        nn::array<T> dy = net.forward(x, nn::mode::train);
        net.backward(dy); // L = |y|^2 / 2
        for (auto& p : params)
            for (std::size_t i = 0; i < p.value->size(); ++i)
                p.value->data()[i] -= T(0.01) * p.gradient->data()[i];
    }
}

} // namespace

TEMPLATE_TEST_CASE("save/load round trip is bit-exact, also after training", "[nn][serialize]",
                   float, double) {
    using T = TestType;
    rng g(21);
    auto net = make_net<T>(g);
    nn::array<T> x = nn::array<T>::from_shape({5, 6});
    test::fill_uniform(x, g);
    temp_file f("roundtrip.xnas");
    for (int round = 0; round < 2; ++round) {
        if (round == 1)
            sgd_steps(net, x, 3);
        nn::save(net, f.path);
        auto back = nn::load<T>(f.path, test_factory<T>());
        REQUIRE(back.size() == net.size());
        CHECK(back.input_shape() == net.input_shape());
        CHECK(back.output_shape() == net.output_shape());
        for (std::size_t j = 1; j < net.size(); ++j) {
            CHECK(back.layer(j).spec() == net.layer(j).spec());
            CHECK(back.inputs(j) == net.inputs(j));
            CHECK(back.merge(j) == net.merge(j));
        }
        auto pa = net.parameters(), pb = back.parameters();
        REQUIRE(pa.size() == pb.size());
        for (std::size_t k = 0; k < pa.size(); ++k) {
            CHECK(pa[k].name == pb[k].name);
            CHECK(bit_equal(*pa[k].value, *pb[k].value));
        }
        CHECK(bit_equal(net.forward(x, nn::mode::eval), back.forward(x, nn::mode::eval)));
        // saving the loaded network gives the same bytes
        temp_file f2("roundtrip2.xnas");
        nn::save(back, f2.path);
        CHECK(f.bytes() == f2.bytes());
    }
}

TEST_CASE("round trip of a convolutional network keeps batch-norm running statistics",
          "[nn][serialize]") {
    rng g(22);
    nn::network<float> net({2, 8, 8});
    net.add(nn::conv2d<float>(2, 4, 3, 1, 1));
    net.add(nn::batch_norm<float>(4));
    net.add(nn::leaky_relu<float>(0.1f));
    auto p = net.add(nn::max_pool2d<float>(2));
    auto q = net.add(nn::avg_pool2d<float>(3, 1, 1, false), {p});
    net.add(nn::conv2d<float>(nn::conv2d_options{.in_channels = 8,
                                                 .out_channels = 8,
                                                 .kernel_h = 1,
                                                 .kernel_w = 1,
                                                 .groups = 2,
                                                 .bias = false}),
            {p, q}, nn::merge_op::concat);
    net.add(nn::gelu<float>());
    net.add(nn::dropout<float>(0.25, 9));
    auto r = net.add(nn::identity<float>());
    auto z = net.add(nn::zero<float>(), {r});
    net.add(nn::global_avg_pool<float>(), {r, z}, nn::merge_op::add);
    net.add(nn::flatten<float>());
    net.add(nn::dense<float>(8, 3));
    net.add(nn::sigmoid<float>());
    net.add(nn::tanh<float>());
    for (auto& prm : net.parameters())
        if (prm.name.find("running_") == std::string::npos)
            test::fill_uniform(*prm.value, g, -0.5, 0.5);
    nn::array<float> x = nn::array<float>::from_shape({4, 2, 8, 8});
    test::fill_uniform(x, g);
    for (int i = 0; i < 3; ++i) // train-mode forwards move the running statistics
        net.forward(x, nn::mode::train);
    temp_file f("conv.xnas");
    nn::save(net, f.path);
    auto back = nn::load<float>(f.path);
    auto pa = net.parameters(), pb = back.parameters();
    REQUIRE(pa.size() == pb.size());
    bool saw_running_mean = false;
    for (std::size_t k = 0; k < pa.size(); ++k) {
        CHECK(bit_equal(*pa[k].value, *pb[k].value));
        if (pa[k].name == "2.running_mean") {
            saw_running_mean = true;
            CHECK((*pa[k].value)(0) != 0.0f);
        }
    }
    CHECK(saw_running_mean);
    CHECK(bit_equal(net.forward(x, nn::mode::eval), back.forward(x, nn::mode::eval)));
    CHECK(back.flops() == net.flops());
    CHECK(back.parameter_count() == net.parameter_count());
}

TEST_CASE("round trip of a recurrent network", "[nn][serialize]") {
    rng g(25);
    nn::network<double> net({5, 3});
    net.add(nn::lstm<double>(3, 4));
    net.add(nn::gru<double>(4, 3, false));
    net.add(nn::dense<double>(3, 2));
    for (auto& p : net.parameters())
        test::fill_uniform(*p.value, g);
    nn::array<double> x = nn::array<double>::from_shape({2, 5, 3});
    test::fill_uniform(x, g);
    std::stringstream buf;
    nn::save(net, buf);
    auto back = nn::load<double>(buf);
    CHECK(bit_equal(net.forward(x, nn::mode::eval), back.forward(x, nn::mode::eval)));
}

TEST_CASE("make_layer rebuilds every built-in type from its spec", "[nn][serialize][factory]") {
    std::vector<nn::any_layer<double>> layers{
        nn::dense<double>(3, 4, false),
        nn::conv2d<double>(nn::conv2d_options{.in_channels = 4,
                                              .out_channels = 6,
                                              .kernel_h = 3,
                                              .kernel_w = 1,
                                              .stride_h = 2,
                                              .padding_w = 1,
                                              .groups = 2}),
        nn::max_pool2d<double>(3, 2, 1),
        nn::avg_pool2d<double>(2, 1, 0, false),
        nn::global_avg_pool<double>(),
        nn::batch_norm<double>(7, 1e-3, 0.2),
        nn::relu<double>(),
        nn::leaky_relu<double>(0.3),
        nn::gelu<double>(),
        nn::tanh<double>(),
        nn::sigmoid<double>(),
        nn::dropout<double>(0.3, 42),
        nn::flatten<double>(),
        nn::lstm<double>(3, 5, false),
        nn::gru<double>(4, 2),
        nn::identity<double>(),
        nn::zero<double>()};
    std::set<std::string> seen;
    for (const auto& l : layers) {
        const auto s = l.spec();
        INFO(s.type);
        CHECK(nn::make_layer<double>(s).spec() == s);
        seen.insert(s.type);
    }
    CHECK(std::vector<std::string>(seen.begin(), seen.end()) == nn::known_layer_types());
}

TEST_CASE("make_layer names an unknown type and lists the known ones", "[nn][serialize][factory]") {
    CHECK_THROWS_AS(nn::make_layer<float>({"transformer", {}}), parse_error);
    CHECK_THROWS_WITH(nn::make_layer<float>({"transformer", {}}),
                      Contains("'transformer'") && Contains("dense") && Contains("conv2d"));
    CHECK_THROWS_WITH(nn::make_layer<float>({"dense", {{"in", "4"}}}),
                      Contains("dense needs attribute 'out'"));
    CHECK_THROWS_WITH(nn::make_layer<float>({"dense", {{"in", "4"}, {"out", "-2"}}}),
                      Contains("'out' = '-2'"));
    // a custom factory is asked first and falls back to the built-ins
    auto f = test_factory<float>();
    CHECK(nn::make_layer<float>({"test_tanh", {}}, f).spec().type == "test_tanh");
    CHECK(nn::make_layer<float>({"relu", {}}, f).spec().type == "relu");
}

TEST_CASE("load rejects bad files with a file_error naming the file and the problem",
          "[nn][serialize]") {
    rng g(23);
    auto net = make_net<float>(g);
    temp_file good("good.xnas"), bad("bad.xnas");
    nn::save(net, good.path);
    const std::string bytes = good.bytes();
    const std::size_t header_end = bytes.find('\n');
    REQUIRE(header_end != std::string::npos);
    const std::string header = bytes.substr(0, header_end);
    const auto f = test_factory<float>();
    const std::string name = bad.path.filename().string();
    auto load_bad = [&] { return nn::load<float>(bad.path, f); };
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        const auto at = s.find(from);
        REQUIRE(at != std::string::npos);
        return s.replace(at, from.size(), to);
    };

    SECTION("missing file") {
        CHECK_THROWS_AS(nn::load<float>(bad.path.string() + ".none"), file_error);
        CHECK_THROWS_WITH(nn::load<float>(bad.path.string() + ".none"), Contains("cannot open"));
    }
    SECTION("foreign binary file") {
        bad.write(std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, '\0'));
        CHECK_THROWS_AS(load_bad(), file_error);
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("not an xnas-network file"));
    }
    SECTION("foreign JSON file") {
        bad.write("{\"format\": \"keras\", \"version\": 1}\n");
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("not an xnas-network file") &&
                                          Contains("keras"));
    }
    SECTION("unsupported version") {
        bad.write(replace(header, "\"version\":1", "\"version\":7") + bytes.substr(header_end));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("unsupported version 7"));
    }
    SECTION("other value type") {
        CHECK_THROWS_WITH(nn::load<double>(good.path, test_factory<double>()),
                          Contains("holds float32 values"));
    }
    SECTION("truncated payload") {
        bad.write(bytes.substr(0, bytes.size() - 10));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("truncated"));
    }
    SECTION("absurd payload size") {
        const std::string size = std::to_string(bytes.size() - header_end - 1);
        bad.write(
            replace(header, "\"payload_bytes\":" + size, "\"payload_bytes\":999999999999999999") +
            bytes.substr(header_end));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("truncated"));
    }
    SECTION("truncated header") {
        bad.write(bytes.substr(0, header_end / 2));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("truncated"));
    }
    SECTION("trailing bytes") {
        bad.write(bytes + "xx");
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("unexpected bytes"));
    }
    SECTION("damaged payload: checksum mismatch") {
        std::string d = bytes;
        d[header_end + 1 + 17] ^= 0x20;
        bad.write(d);
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("checksum mismatch"));
    }
    SECTION("unknown layer type") {
        bad.write(replace(header, "\"type\":\"relu\"", "\"type\":\"swish\"") +
                  bytes.substr(header_end));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("node 4") &&
                                          Contains("unknown layer type 'swish'"));
    }
    SECTION("a user type without the user's factory") {
        CHECK_THROWS_WITH(nn::load<float>(good.path),
                          Contains("node 2") && Contains("unknown layer type 'test_tanh'"));
    }
    SECTION("structure inconsistent with its shapes") {
        bad.write(replace(header, "\"in\":\"8\"", "\"in\":\"9\"") + bytes.substr(header_end));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("node 3"));
    }
    SECTION("malformed header field") {
        bad.write(replace(header, "\"inputs\":[0]", "\"inputs\":\"zero\"") +
                  bytes.substr(header_end));
        CHECK_THROWS_WITH(load_bad(), Contains(name) && Contains("malformed header"));
    }
}

TEST_CASE("save refuses a layer that cannot describe itself", "[nn][serialize]") {
    nn::network<float> net({3});
    net.add(test::scale_layer<float>{});
    std::ostringstream out;
    CHECK_THROWS_AS(nn::save(net, out), std::invalid_argument);
    CHECK_THROWS_WITH(nn::save(net, out), Contains("node 1") && Contains("spec()"));
}

TEST_CASE("save and load through streams", "[nn][serialize]") {
    rng g(24);
    auto net = make_net<double>(g);
    std::stringstream buf;
    nn::save(net, buf);
    auto back = nn::load<double>(buf, "buffer", test_factory<double>());
    nn::array<double> x = nn::array<double>::from_shape({2, 6});
    test::fill_uniform(x, g);
    CHECK(bit_equal(net.forward(x, nn::mode::eval), back.forward(x, nn::mode::eval)));
}

TEST_CASE("load refuses a structure larger than its payload before allocating it",
          "[nn][serialize]") {
    // A saved header with an empty payload (its crc32 is 0) and one dense node.
    auto load_dense = [](const std::string& in, const std::string& out, const std::string& bias,
                         const std::string& tensors) {
        std::istringstream s(
            R"({"format":"xnas-network","version":1,"value_type":"float32","byte_order":"little",)"
            R"("input_shape":[)" +
            in + R"(],"nodes":[{"type":"dense","attributes":{"bias":")" + bias + R"(","in":")" +
            in + R"(","out":")" + out + R"("},"inputs":[0],"merge":"add"}],"tensors":)" + tensors +
            R"(,"payload_bytes":0,"payload_crc32":"00000000"}
)");
        return nn::load<float>(s, "huge.xnas");
    };
    // 6 x 4e9 weights and 4e9 biases: 112 GB, which load used to try to allocate.
    CHECK_THROWS_AS(load_dense("6", "4000000000", "1", "[]"), file_error);
    CHECK_THROWS_WITH(load_dense("6", "4000000000", "1", "[]"),
                      Contains("huge.xnas") && Contains("28000000000 parameters") &&
                          Contains("0-byte payload"));
    // 2^32 x 2^32 weights count 0 in size_t: the layer itself is refused, before anything is
    // allocated at the wrapped size.
    CHECK_THROWS_WITH(load_dense("4294967296", "4294967296", "0",
                                 R"([{"name":"1.weight","shape":[4294967296,4294967296]}])"),
                      Contains("huge.xnas") && Contains("more than an array can hold"));
    CHECK_THROWS_WITH(nn::conv2d<float>(std::size_t{1} << 31, std::size_t{1} << 31, 3),
                      Contains("more than an array can hold"));
    CHECK_NOTHROW(nn::dense<float>(std::size_t{1} << 20, std::size_t{1} << 20)); // not allocated
}

TEST_CASE("a model saved in one locale loads in another", "[nn][serialize][locale]") {
    // Layer specs hold reals as text. Written with printf and read with strtod they followed the
    // C locale: de_DE wrote "0,25", and a model saved in "C" failed to load under de_DE.
    auto make = [] {
        nn::network<float> net({3});
        net.add(nn::batch_norm<float>(
            nn::batch_norm_options{.features = 3, .eps = 1e-3, .momentum = 0.05}));
        net.add(nn::leaky_relu<float>(0.2f));
        net.add(nn::dropout<float>(0.25, 4));
        net.add(nn::dense<float>(3, 2));
        return net;
    };
    auto specs = [](const nn::network<float>& net) {
        std::vector<nn::layer_spec> out;
        for (std::size_t i = 1; i <= 4; ++i)
            out.push_back(net.layer(i).spec());
        return out;
    };
    const auto net = make();
    std::stringstream saved_in_c;
    nn::save(net, saved_in_c);
    std::stringstream saved_in_de;
    std::vector<nn::layer_spec> specs_in_de;
    {
        xnas_test::comma_locale de;
        const auto back = nn::load<float>(saved_in_c);
        CHECK(specs(back) == specs(net));
        nn::save(net, saved_in_de);
        specs_in_de = specs(net);
    }
    CHECK(saved_in_de.str() == saved_in_c.str());
    CHECK(specs_in_de == specs(net));
    CHECK(net.layer(3).spec().attributes.at("p") == "0.25");
    CHECK(net.layer(1).spec().attributes.at("eps") == "0.001");
    const auto back = nn::load<float>(saved_in_de);
    CHECK(specs(back) == specs(net));
}
