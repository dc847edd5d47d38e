#pragma once
// nn::export_onnx: writes a network as an ONNX model (opset 13, IR version 7) for inference
// elsewhere: graph input "input" of shape (N, input_shape...) with a symbolic batch N, graph
// output "output" with what network::forward returns (the logits, no softmax), eval-mode
// semantics (dropout is the identity, batch norm uses its running statistics). The protobuf
// wire format is written by hand (docs/design.md, "Files, dependencies and compile time", says
// why).

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>
#include <xnas/core/error.hpp>
#include <xnas/nn/factory.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/network.hpp>
#include <xnas/nn/serialize.hpp>

namespace xnas::nn {

/// The ONNX operator set the exported graphs import (every op they use exists there unchanged
/// from the onnx 1.8 release on).
inline constexpr int onnx_opset = 13;
/// The ONNX IR version written: the one that came with opset 13.
inline constexpr int onnx_ir_version = 7;

namespace detail {

/// Appends protobuf wire-format fields to a byte string: varints (wire type 0), 32-bit (5) and
/// length-delimited (2) fields. A nested message is built in its own writer, then added whole.
class proto_writer {
  public:
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            bytes_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        bytes_.push_back(static_cast<char>(v));
    }
    /// An int32/int64/enum field; negative values take ten bytes, as protobuf encodes them.
    void integer(int field, std::int64_t v) {
        key(field, 0);
        varint(static_cast<std::uint64_t>(v));
    }
    void float32(int field, float v) {
        key(field, 5);
        const auto u = std::bit_cast<std::uint32_t>(v);
        for (int i = 0; i < 4; ++i)
            bytes_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
    }
    void bytes(int field, std::string_view s) {
        key(field, 2);
        varint(s.size());
        bytes_.append(s);
    }
    void message(int field, const proto_writer& m) { bytes(field, m.bytes_); }

    const std::string& str() const { return bytes_; }

  private:
    void key(int field, int wire) { varint(static_cast<std::uint64_t>(field) << 3 | wire); }
    std::string bytes_;
};

// Field numbers and enum values of onnx.proto used below.
namespace onnx_field {
inline constexpr int model_ir_version = 1, model_producer_name = 2, model_graph = 7,
                     model_opset_import = 8;
inline constexpr int opset_version = 2;
inline constexpr int graph_node = 1, graph_name = 2, graph_initializer = 5, graph_input = 11,
                     graph_output = 12;
inline constexpr int node_input = 1, node_output = 2, node_name = 3, node_op_type = 4,
                     node_attribute = 5;
inline constexpr int attr_name = 1, attr_f = 2, attr_i = 3, attr_t = 5, attr_ints = 8,
                     attr_type = 20;
inline constexpr int attr_type_float = 1, attr_type_int = 2, attr_type_tensor = 4,
                     attr_type_ints = 7;
inline constexpr int tensor_dims = 1, tensor_data_type = 2, tensor_name = 8, tensor_raw_data = 9;
inline constexpr int type_float = 1, type_int64 = 7, type_double = 11;
inline constexpr int value_info_name = 1, value_info_type = 2;
inline constexpr int type_tensor_type = 1, tensor_type_elem_type = 1, tensor_type_shape = 2;
inline constexpr int shape_dim = 1, dim_value = 1, dim_param = 2;
} // namespace onnx_field

/// One attribute of an ONNX node.
struct onnx_attribute {
    enum class kind { integer, real, integers, tensor } k;
    std::string name;
    std::int64_t i = 0;
    float f = 0;
    std::vector<std::int64_t> ints{};
    std::string tensor{}; ///< a serialized TensorProto
};

inline onnx_attribute onnx_int(std::string name, std::int64_t v) {
    return {.k = onnx_attribute::kind::integer, .name = std::move(name), .i = v};
}
inline onnx_attribute onnx_float(std::string name, double v) {
    return {.k = onnx_attribute::kind::real, .name = std::move(name), .f = static_cast<float>(v)};
}
inline onnx_attribute onnx_ints(std::string name, std::vector<std::int64_t> v) {
    return {.k = onnx_attribute::kind::integers, .name = std::move(name), .ints = std::move(v)};
}

/// A serialized TensorProto: dims, data type, name (may be empty) and little-endian raw data.
template <class V>
std::string onnx_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                        const std::vector<V>& values) {
    static_assert(std::is_same_v<V, float> || std::is_same_v<V, double> ||
                  std::is_same_v<V, std::int64_t>);
    namespace f = onnx_field;
    proto_writer t;
    for (std::int64_t d : dims)
        t.integer(f::tensor_dims, d);
    t.integer(f::tensor_data_type, std::is_same_v<V, float>    ? f::type_float
                                   : std::is_same_v<V, double> ? f::type_double
                                                               : f::type_int64);
    if (!name.empty())
        t.bytes(f::tensor_name, name);
    std::vector<char> raw;
    append_le(raw, values.data(), values.size());
    t.bytes(f::tensor_raw_data, std::string_view(raw.data(), raw.size()));
    return t.str();
}

/// Builds the GraphProto of a network node by node: nodes, initializers and the names of the
/// tensors between them.
template <class T>
class onnx_graph {
  public:
    /// Adds a node `op` reading `in`, writing `out` (an empty name skips an optional input or
    /// output).
    void node(const std::string& op, const std::vector<std::string>& in,
              const std::vector<std::string>& out, const std::vector<onnx_attribute>& attrs = {}) {
        namespace f = onnx_field;
        proto_writer n;
        for (const auto& s : in)
            n.bytes(f::node_input, s);
        for (const auto& s : out)
            n.bytes(f::node_output, s);
        n.bytes(f::node_name, out.back().empty() ? out.front() : out.back());
        n.bytes(f::node_op_type, op);
        for (const auto& a : attrs) {
            proto_writer w;
            w.bytes(f::attr_name, a.name);
            switch (a.k) {
            case onnx_attribute::kind::integer:
                w.integer(f::attr_i, a.i);
                w.integer(f::attr_type, f::attr_type_int);
                break;
            case onnx_attribute::kind::real:
                w.float32(f::attr_f, a.f);
                w.integer(f::attr_type, f::attr_type_float);
                break;
            case onnx_attribute::kind::integers:
                for (std::int64_t v : a.ints)
                    w.integer(f::attr_ints, v);
                w.integer(f::attr_type, f::attr_type_ints);
                break;
            case onnx_attribute::kind::tensor:
                w.bytes(f::attr_t, a.tensor);
                w.integer(f::attr_type, f::attr_type_tensor);
                break;
            }
            n.message(f::node_attribute, w);
        }
        g_.message(f::graph_node, n);
    }

    /// Adds an initializer and returns its name.
    template <class V>
    std::string constant(const std::string& name, const std::vector<std::int64_t>& dims,
                         const std::vector<V>& values) {
        inits_.bytes(onnx_field::graph_initializer, onnx_tensor(name, dims, values));
        return name;
    }
    /// A parameter tensor as an initializer of its own shape.
    std::string constant(const std::string& name, const array<T>& a) {
        return constant(name, std::vector<std::int64_t>(a.shape().begin(), a.shape().end()),
                        std::vector<T>(a.data(), a.data() + a.size()));
    }

    /// A graph input or output: a tensor of T of shape (N, per_sample...).
    void value_info(int field, const std::string& name, const shape& per_sample) {
        namespace f = onnx_field;
        proto_writer sh;
        proto_writer batch;
        batch.bytes(f::dim_param, "N");
        sh.message(f::shape_dim, batch);
        for (std::size_t d : per_sample) {
            proto_writer dim;
            dim.integer(f::dim_value, static_cast<std::int64_t>(d));
            sh.message(f::shape_dim, dim);
        }
        proto_writer tensor;
        tensor.integer(f::tensor_type_elem_type,
                       std::is_same_v<T, float> ? f::type_float : f::type_double);
        tensor.message(f::tensor_type_shape, sh);
        proto_writer type;
        type.message(f::type_tensor_type, tensor);
        proto_writer vi;
        vi.bytes(f::value_info_name, name);
        vi.message(f::value_info_type, type);
        io_.message(field, vi);
    }

    /// The GraphProto: nodes, name, initializers, then inputs and outputs.
    std::string finish(const std::string& name) {
        proto_writer g = g_;
        g.bytes(onnx_field::graph_name, name);
        return g.str() + inits_.str() + io_.str();
    }

  private:
    proto_writer g_, inits_, io_;
};

/// Rows [first, first + count) of each of `blocks` gate blocks of `rows` rows, in the order
/// `order` lists the blocks (the recurrent layers' gates in ONNX's order), of a row-major
/// (blocks * rows, cols) matrix.
template <class T>
std::vector<T> reorder_gates(const array<T>& a, std::size_t rows,
                             const std::vector<std::size_t>& order) {
    const std::size_t cols = a.dimension() == 2 ? a.shape()[1] : 1;
    std::vector<T> out;
    out.reserve(a.size());
    for (std::size_t b : order)
        out.insert(out.end(), a.data() + b * rows * cols, a.data() + (b + 1) * rows * cols);
    return out;
}

/// Emits the ONNX nodes of one layer node: reads tensor `x` (per-sample shape `in`), writes `y`.
template <class T>
void emit_onnx_layer(onnx_graph<T>& g, const node_record<T>& r, const shape& in,
                     const std::string& x, const std::string& y) {
    const std::string& t = r.spec.type;
    const spec_reader a(r.spec);
    const std::string id = std::to_string(r.id);
    auto param = [&](const char* name) -> const array<T>* {
        for (const auto& p : r.parameters)
            if (p.name == name)
                return p.value;
        return nullptr;
    };
    auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    if (t == "identity" || t == "dropout") {
        g.node("Identity", {x}, {y});
    } else if (t == "zero") {
        // Not x * 0: that is NaN where x is infinite or NaN, and the layer's output never is.
        g.node("Shape", {x}, {id + ".shape"});
        g.node("ConstantOfShape", {id + ".shape"}, {y},
               {{.k = onnx_attribute::kind::tensor,
                 .name = "value",
                 .tensor = onnx_tensor<T>("", {1}, {T(0)})}});
    } else if (t == "relu") {
        g.node("Relu", {x}, {y});
    } else if (t == "leaky_relu") {
        g.node("LeakyRelu", {x}, {y}, {onnx_float("alpha", a.real("slope", 0.01))});
    } else if (t == "tanh") {
        g.node("Tanh", {x}, {y});
    } else if (t == "sigmoid") {
        g.node("Sigmoid", {x}, {y});
    } else if (t == "gelu") {
        // Opset 13 has no Gelu: x * (1 + erf(x / sqrt 2)) * 0.5.
        const auto sqrt2 = g.constant(id + ".sqrt2", {}, std::vector<T>{std::numbers::sqrt2_v<T>});
        const auto one = g.constant(id + ".one", {}, std::vector<T>{T(1)});
        const auto half = g.constant(id + ".half", {}, std::vector<T>{T(0.5)});
        g.node("Div", {x, sqrt2}, {id + ".scaled"});
        g.node("Erf", {id + ".scaled"}, {id + ".erf"});
        g.node("Add", {id + ".erf", one}, {id + ".cdf2"});
        g.node("Mul", {x, id + ".cdf2"}, {id + ".xcdf2"});
        g.node("Mul", {id + ".xcdf2", half}, {y});
    } else if (t == "flatten") {
        g.node("Flatten", {x}, {y}, {onnx_int("axis", 1)});
    } else if (t == "global_avg_pool") {
        g.node("GlobalAveragePool", {x}, {id + ".pooled"});
        g.node("Flatten", {id + ".pooled"}, {y}, {onnx_int("axis", 1)});
    } else if (t == "dense") {
        std::vector<std::string> ins{x, g.constant(id + ".weight", *param("weight"))};
        if (const array<T>* b = param("bias"))
            ins.push_back(g.constant(id + ".bias", *b));
        g.node("Gemm", ins, {y}, {onnx_int("transB", 1)});
    } else if (t == "conv2d") {
        const std::size_t kh = a.size("kernel_h", 3), kw = a.size("kernel_w", 3);
        const std::size_t ph = a.size("padding_h", 0), pw = a.size("padding_w", 0);
        std::vector<std::string> ins{x, g.constant(id + ".weight", *param("weight"))};
        if (const array<T>* b = param("bias"))
            ins.push_back(g.constant(id + ".bias", *b));
        g.node("Conv", ins, {y},
               {onnx_ints("kernel_shape", {i64(kh), i64(kw)}),
                onnx_ints("strides", {i64(a.size("stride_h", 1)), i64(a.size("stride_w", 1))}),
                onnx_ints("pads", {i64(ph), i64(pw), i64(ph), i64(pw)}),
                onnx_ints("dilations", {1, 1}), onnx_int("group", i64(a.size("groups", 1)))});
    } else if (t == "max_pool2d" || t == "avg_pool2d") {
        const std::size_t kh = a.size("kernel_h", 2), kw = a.size("kernel_w", 2);
        const std::size_t sh = a.size("stride_h", 0), sw = a.size("stride_w", 0);
        const std::size_t ph = a.size("padding_h", 0), pw = a.size("padding_w", 0);
        std::vector<onnx_attribute> attrs{
            onnx_ints("kernel_shape", {i64(kh), i64(kw)}),
            onnx_ints("strides", {i64(sh ? sh : kh), i64(sw ? sw : kw)}),
            onnx_ints("pads", {i64(ph), i64(pw), i64(ph), i64(pw)})};
        if (t == "avg_pool2d")
            attrs.push_back(onnx_int("count_include_pad", a.flag("count_include_pad", true)));
        g.node(t == "max_pool2d" ? "MaxPool" : "AveragePool", {x}, {y}, attrs);
    } else if (t == "batch_norm") {
        g.node("BatchNormalization",
               {x, g.constant(id + ".weight", *param("weight")),
                g.constant(id + ".bias", *param("bias")),
                g.constant(id + ".running_mean", *param("running_mean")),
                g.constant(id + ".running_var", *param("running_var"))},
               {y}, {onnx_float("epsilon", a.real("eps", 1e-5))});
    } else if (t == "lstm" || t == "gru") {
        // xnas: (N, T, F) batch first, gates i f g o (LSTM) or r z n (GRU); opset 13's LSTM
        // and GRU read (T, N, F) and order the gates i o f c and z r h.
        const bool lstm = t == "lstm";
        const std::size_t h = a.size("hidden_size");
        const std::size_t f = in[1];
        const std::size_t gates = lstm ? 4 : 3;
        const std::vector<std::size_t> order =
            lstm ? std::vector<std::size_t>{0, 3, 1, 2} : std::vector<std::size_t>{1, 0, 2};
        const auto w = g.constant(id + ".W", {1, i64(gates * h), i64(f)},
                                  reorder_gates(*param("weight_ih"), h, order));
        const auto rw = g.constant(id + ".R", {1, i64(gates * h), i64(h)},
                                   reorder_gates(*param("weight_hh"), h, order));
        std::vector<T> bias = reorder_gates(*param("bias_ih"), h, order);
        const std::vector<T> bias_hh = reorder_gates(*param("bias_hh"), h, order);
        bias.insert(bias.end(), bias_hh.begin(), bias_hh.end());
        const auto b = g.constant(id + ".B", {1, i64(2 * gates * h)}, bias);
        std::vector<onnx_attribute> attrs{onnx_int("hidden_size", i64(h))};
        if (!lstm) // the reset gate scales W_hn h + b_hn, as in PyTorch
            attrs.push_back(onnx_int("linear_before_reset", 1));
        g.node("Transpose", {x}, {id + ".time_major"}, {onnx_ints("perm", {1, 0, 2})});
        const bool sequences = a.flag("return_sequences", true);
        if (sequences) {
            // Y: (T, directions = 1, N, H) -> (N, T, H)
            g.node(lstm ? "LSTM" : "GRU", {id + ".time_major", w, rw, b}, {id + ".Y"}, attrs);
            const auto axes = g.constant(id + ".axes", {1}, std::vector<std::int64_t>{1});
            g.node("Squeeze", {id + ".Y", axes}, {id + ".Y_tnh"});
            g.node("Transpose", {id + ".Y_tnh"}, {y}, {onnx_ints("perm", {1, 0, 2})});
        } else {
            // Y_h: (directions = 1, N, H) -> (N, H)
            g.node(lstm ? "LSTM" : "GRU", {id + ".time_major", w, rw, b}, {"", id + ".Y_h"}, attrs);
            const auto axes = g.constant(id + ".axes", {1}, std::vector<std::int64_t>{0});
            g.node("Squeeze", {id + ".Y_h", axes}, {y});
        }
    } else {
        std::string known;
        for (const auto& k : known_layer_types())
            known += (known.empty() ? "" : ", ") + k;
        throw std::invalid_argument("xnas::nn::export_onnx: node " + id + " holds layer type '" +
                                    t + "'" + (t == "custom" ? " (a layer without spec())" : "") +
                                    ", which has no ONNX export (exported types: " + known + ")");
    }
}

} // namespace detail

/// The ONNX ModelProto of `net`, serialized. Throws std::invalid_argument naming the node and
/// its layer type for a layer that is not one of known_layer_types() (a user's own layer).
template <class T>
std::string onnx_model(const network<T>& net) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "xnas::nn::export_onnx supports float and double networks");
    namespace f = detail::onnx_field;
    detail::onnx_graph<T> g;
    auto name = [&](std::size_t id) {
        if (id == network<T>::input_node)
            return std::string("input");
        return id + 1 == net.size() ? std::string("output") : std::to_string(id);
    };
    if (net.size() == 1)
        g.node("Identity", {"input"}, {"output"});
    detail::for_each_node(net, [&](const detail::node_record<T>& r) {
        std::string x = name(r.inputs[0]);
        if (r.inputs.size() > 1) {
            const std::string merged = std::to_string(r.id) + ".merged";
            if (r.merge == merge_op::concat) {
                std::vector<std::string> ins;
                for (std::size_t i : r.inputs)
                    ins.push_back(name(i));
                g.node("Concat", ins, {merged}, {detail::onnx_int("axis", 1)});
            } else { // summed in input order, as residual_add does
                for (std::size_t k = 1; k < r.inputs.size(); ++k) {
                    const std::string sum =
                        k + 1 == r.inputs.size() ? merged : merged + std::to_string(k);
                    g.node("Add", {x, name(r.inputs[k])}, {sum});
                    x = sum;
                }
            }
            x = merged;
        }
        shape in;
        if (r.inputs.size() == 1) {
            in = net.node_shape(r.inputs[0]);
        } else {
            std::vector<shape> shapes;
            for (std::size_t i : r.inputs)
                shapes.push_back(net.node_shape(i));
            in = merge_output_shape(r.merge, shapes);
        }
        detail::emit_onnx_layer(g, r, in, x, name(r.id));
    });
    g.value_info(f::graph_input, "input", net.input_shape());
    g.value_info(f::graph_output, "output", net.output_shape());

    detail::proto_writer model;
    model.integer(f::model_ir_version, onnx_ir_version);
    model.bytes(f::model_producer_name, "xnas");
    model.bytes(f::model_graph, g.finish("xnas_network"));
    detail::proto_writer opset;
    opset.integer(f::opset_version, onnx_opset);
    model.message(f::model_opset_import, opset);
    return model.str();
}

/// Writes the ONNX model of `net` (see onnx_model) to `out`; `what` names it in messages.
/// Throws as onnx_model does, and xnas::file_error when writing fails.
template <class T>
void export_onnx(const network<T>& net, std::ostream& out, const std::string& what = "stream") {
    const std::string bytes = onnx_model(net);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
        throw file_error("xnas::nn::export_onnx: writing " + what + " failed");
}

/// Writes the ONNX model of `net` to the file `path`, replacing it atomically (written beside
/// it, then renamed): an unexportable network leaves no file. Throws as onnx_model does, and
/// xnas::file_error naming the path when it cannot write.
template <class T>
void export_onnx(const network<T>& net, const std::filesystem::path& path) {
    const std::string bytes = onnx_model(net);
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw file_error("xnas::nn::export_onnx: cannot open '" + tmp.string() +
                             "' for writing");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out)
            throw file_error("xnas::nn::export_onnx: writing '" + path.string() + "' failed");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
        throw file_error("xnas::nn::export_onnx: cannot rename '" + tmp.string() + "' to '" +
                         path.string() + "': " + ec.message());
}

} // namespace xnas::nn
