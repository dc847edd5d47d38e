#pragma once
// Saving and loading nn::network: structure (input shape, each node's layer spec, inputs and
// merge) and every parameter value, bit-exact. Format "xnas-network" version 1:
//
//   line 1   a one-line JSON header: {"format": "xnas-network", "version": 1,
//            "value_type": "float32" | "float64", "byte_order": "little", "input_shape": [...],
//            "nodes": [{"type", "attributes", "inputs", "merge"}, ...],
//            "tensors": [{"name": "1.weight", "shape": [...]}, ...],
//            "payload_bytes": N, "payload_crc32": "1a2b3c4d"}
//   then     N bytes: the tensors in header order, raw little-endian IEEE-754, row-major.
//
// Raw binary keeps the file small and the round trip exact; the JSON header keeps it readable
// with `head -1`. Batch-norm running statistics are parameters (see batch_norm.hpp), so they
// are saved too.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>
#include <xnas/core/durable_file.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/nn/factory.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/network.hpp>
#include <zlib.h>

namespace xnas::nn {

/// Format name written in, and required of, every saved network.
inline constexpr const char* network_format_name = "xnas-network";
/// Format version this build writes and reads.
inline constexpr int network_format_version = 1;

namespace detail {

template <class T>
constexpr const char* value_type_name() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                  "xnas::nn serialization supports float and double networks");
    return std::is_same_v<T, float> ? "float32" : "float64";
}

inline std::string crc32_hex(const std::vector<char>& bytes) {
    uLong crc = crc32_z(0L, Z_NULL, 0);
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
    return buf;
}

/// Appends n values as little-endian bytes.
template <class T>
void append_le(std::vector<char>& out, const T* v, std::size_t n) {
    const std::size_t at = out.size();
    out.resize(at + n * sizeof(T));
    std::memcpy(out.data() + at, v, n * sizeof(T));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < n; ++i)
            std::reverse(out.data() + at + i * sizeof(T), out.data() + at + (i + 1) * sizeof(T));
}

/// Reads n little-endian values starting at `bytes`.
template <class T>
void read_le(const char* bytes, T* v, std::size_t n) {
    std::memcpy(v, bytes, n * sizeof(T));
    if constexpr (std::endian::native == std::endian::big)
        for (std::size_t i = 0; i < n; ++i) {
            auto* b = reinterpret_cast<char*>(v + i);
            std::reverse(b, b + sizeof(T));
        }
}

/// One layer node of a network as saving and exporting read it: its id, its layer's spec, its
/// inputs and merge, and the layer's parameters (names without the node prefix).
template <class T>
struct node_record {
    std::size_t id;
    layer_spec spec;
    const std::vector<std::size_t>& inputs;
    merge_op merge;
    std::vector<parameter<T>> parameters;
};

/// Calls f(node_record) for nodes 1 .. size() - 1 in id order (a topological order).
template <class T, class F>
void for_each_node(const network<T>& net, F&& f) {
    // parameters() hands out mutable views; saving and exporting only read through them.
    auto& mutable_net = const_cast<network<T>&>(net);
    for (std::size_t j = 1; j < net.size(); ++j)
        f(node_record<T>{j, net.layer(j).spec(), net.inputs(j), net.merge(j),
                         mutable_net.layer(j).parameters()});
}

} // namespace detail

/// Writes `net` to `out` (binary). `what` names the destination in messages. Throws
/// std::invalid_argument when a layer cannot describe itself (its spec type is "custom": give
/// it `layer_spec spec() const`), xnas::file_error when writing fails.
template <class T>
void save(const network<T>& net, std::ostream& out, const std::string& what = "stream") {
    using json = xnas::json::value;
    json header;
    header["format"] = network_format_name;
    header["version"] = network_format_version;
    header["value_type"] = detail::value_type_name<T>();
    header["byte_order"] = "little";
    header["input_shape"] = net.input_shape();
    json nodes = json::array();
    json tensors = json::array();
    std::vector<char> payload;
    detail::for_each_node(net, [&](const detail::node_record<T>& r) {
        if (r.spec.type == "custom")
            throw std::invalid_argument(
                "xnas::nn::save: node " + std::to_string(r.id) +
                " holds a layer without spec() (type 'custom'), which cannot be rebuilt; give "
                "it `layer_spec spec() const` and pass a layer_factory to load");
        json node;
        node["type"] = r.spec.type;
        node["attributes"] = r.spec.attributes;
        node["inputs"] = r.inputs;
        node["merge"] = to_string(r.merge);
        nodes.push_back(std::move(node));
        // The names network::parameters() gives, node by node in the same order.
        for (const auto& p : r.parameters) {
            json t;
            t["name"] = std::to_string(r.id) + "." + p.name;
            t["shape"] = std::vector<std::size_t>(p.value->shape().begin(), p.value->shape().end());
            tensors.push_back(std::move(t));
            detail::append_le(payload, p.value->data(), p.value->size());
        }
    });
    header["nodes"] = std::move(nodes);
    header["tensors"] = std::move(tensors);
    header["payload_bytes"] = payload.size();
    header["payload_crc32"] = detail::crc32_hex(payload);
    out << header.dump() << '\n';
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    out.flush();
    if (!out)
        throw file_error("xnas::nn::save: writing " + what + " failed");
}

/// Writes `net` to the file `path`, replacing it atomically and durably
/// (xnas::write_file_atomically): a run killed mid-save leaves the old file or the new one.
/// Throws as save(net, stream) does, and xnas::file_error naming the path when it cannot write
/// (a full disk), leaving no temporary file behind.
template <class T>
void save(const network<T>& net, const std::filesystem::path& path) {
    std::ostringstream bytes(std::ios::binary);
    // Appended, not "'" + path.string(): g++ 12 warns falsely (-Wrestrict) where that inlines.
    std::string what(1, '\'');
    what += path.string();
    what += '\'';
    save(net, bytes, what);
    try {
        write_file_atomically(path, bytes.view());
    } catch (const file_error& e) {
        throw file_error(std::string("xnas::nn::save: ") + e.what());
    }
}

/// Reads a network saved by save() from `in`; `what` names the source in messages. Layers are
/// rebuilt by make_layer, asking `custom` first for the user's own layer types.
/// Throws xnas::file_error naming the source and the problem: not an xnas-network file, an
/// unsupported version, another value type, a truncated or damaged payload (checksum), an
/// unknown layer type, or a structure inconsistent with its shapes or tensors.
template <class T>
network<T> load(std::istream& in, const std::string& what = "stream",
                const layer_factory<T>& custom = {}) {
    using json = xnas::json::value;
    const std::string where = "xnas::nn::load: " + what + ": ";
    auto fail = [&](const std::string& why) { return file_error(where + why); };

    if (in.peek() != '{')
        throw fail(std::string("not an ") + network_format_name +
                   " file (it does not start with a JSON header)");
    std::string line;
    std::getline(in, line);
    if (!in || in.eof())
        throw fail("truncated: the header line has no end");
    json header;
    try {
        header = json::parse(line);
    } catch (const xnas::json::syntax_error& e) {
        throw fail(std::string("not an ") + network_format_name +
                   " file (header is not valid JSON: " + e.what() + ")");
    }
    const json* format = header.find("format");
    if (!format || !format->is_string() || format->get<std::string>() != network_format_name)
        throw fail(std::string("not an ") + network_format_name + " file (format " +
                   (format ? format->dump() : std::string("missing")) + ")");
    try {
        const json& version = header.at("version");
        if (!version.is_integer() || version.get<long long>() != network_format_version)
            throw fail("unsupported version " + version.dump() + " (this build reads version " +
                       std::to_string(network_format_version) + ")");
        const std::string vt = header.at("value_type").get<std::string>();
        if (vt != detail::value_type_name<T>())
            throw fail("holds " + vt + " values; load<" + detail::value_type_name<T>() +
                       "> needs " + detail::value_type_name<T>());
        if (header.at("byte_order").get<std::string>() != "little")
            throw fail("byte_order " + header.at("byte_order").dump() + ", expected \"little\"");

        // Payload first: a damaged file is reported as damaged, not as a bad structure.
        const std::size_t bytes = header.at("payload_bytes").get<std::size_t>();
        // A damaged size must not make us allocate: compare with what the stream still holds.
        if (const auto here = in.tellg(); here != std::streampos(-1)) {
            in.seekg(0, std::ios::end);
            const auto end = in.tellg();
            in.seekg(here);
            if (end != std::streampos(-1) && static_cast<std::size_t>(end - here) < bytes)
                throw fail("truncated: payload has " + std::to_string(end - here) + " of " +
                           std::to_string(bytes) + " bytes");
        }
        std::vector<char> payload(bytes);
        in.read(payload.data(), static_cast<std::streamsize>(bytes));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got != bytes)
            throw fail("truncated: payload has " + std::to_string(got) + " of " +
                       std::to_string(bytes) + " bytes");
        if (in.peek() != std::char_traits<char>::eof())
            throw fail("damaged: unexpected bytes after the " + std::to_string(bytes) +
                       "-byte payload");
        const std::string stored = header.at("payload_crc32").get<std::string>();
        const std::string computed = detail::crc32_hex(payload);
        if (stored != computed)
            throw fail("damaged: payload checksum mismatch (stored crc32 " + stored +
                       ", computed " + computed + ")");

        network<T> net(header.at("input_shape").get<shape>());
        const json& nodes = header.at("nodes");
        for (std::size_t k = 0; k < nodes.size(); ++k) {
            const json& nd = nodes.at(k);
            const std::string node = "node " + std::to_string(k + 1);
            layer_spec s{nd.at("type").get<std::string>(),
                         nd.at("attributes").get<std::map<std::string, std::string>>()};
            std::optional<any_layer<T>> l;
            try {
                l.emplace(make_layer<T>(s, custom));
            } catch (const file_error&) {
                throw;
            } catch (const std::exception& e) {
                throw fail(node + ": " + e.what());
            }
            merge_op m;
            try {
                m = parse_merge_op(nd.at("merge").get<std::string>());
            } catch (const parse_error& e) {
                throw fail(node + ": " + e.what());
            }
            try {
                net.add(std::move(*l), nd.at("inputs").get<std::vector<std::size_t>>(), m);
            } catch (const xnas::json::type_error&) {
                throw;
            } catch (const std::exception& e) {
                throw fail(node + ": " + e.what());
            }
        }

        // Layers allocate their parameters on first use (parameters() below): a structure far
        // larger than the payload, say a damaged dense size, must be refused before. The count
        // leaves out batch-norm running statistics, which the payload holds too.
        const std::size_t count = net.parameter_count();
        if (count > bytes / sizeof(T))
            throw fail("the structure has " + std::to_string(count) +
                       " parameters, more than the " + std::to_string(bytes) +
                       "-byte payload holds");
        const json& tensors = header.at("tensors");
        auto params = net.parameters();
        if (tensors.size() != params.size())
            throw fail("the structure has " + std::to_string(params.size()) +
                       " parameter tensors, the file " + std::to_string(tensors.size()));
        std::size_t offset = 0;
        for (std::size_t k = 0; k < params.size(); ++k) {
            auto& p = params[k];
            const std::string name = tensors.at(k).at("name").get<std::string>();
            const auto file_shape = tensors.at(k).at("shape").get<std::vector<std::size_t>>();
            const std::vector<std::size_t> net_shape(p.value->shape().begin(),
                                                     p.value->shape().end());
            // A shape whose size overflows size_t was allocated at its wrapped size.
            bool overflows = false;
            std::size_t elements = 1;
            for (const std::size_t d : net_shape) {
                overflows = overflows || (d != 0 && elements > SIZE_MAX / d);
                elements *= d;
            }
            if (overflows)
                throw fail("tensor " + std::to_string(k) + " '" + p.name + "' " +
                           to_string(net_shape) + " has more elements than size_t counts");
            if (name != p.name || file_shape != net_shape)
                throw fail("tensor " + std::to_string(k) + " is '" + name + "' " +
                           to_string(file_shape) + ", the structure expects '" + p.name + "' " +
                           to_string(net_shape));
            const std::size_t n = p.value->size() * sizeof(T);
            if (offset + n > bytes)
                throw fail("the tensors need more than the " + std::to_string(bytes) +
                           "-byte payload");
            detail::read_le(payload.data() + offset, p.value->data(), p.value->size());
            offset += n;
        }
        if (offset != bytes)
            throw fail("the tensors use " + std::to_string(offset) + " of the " +
                       std::to_string(bytes) + " payload bytes");
        return net;
    } catch (const xnas::json::type_error& e) {
        throw fail(std::string("malformed header: ") + e.what());
    }
}

/// Reads the network saved in the file `path` (see load(stream)); messages name the path.
template <class T>
network<T> load(const std::filesystem::path& path, const layer_factory<T>& custom = {}) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw file_error("xnas::nn::load: cannot open '" + path.string() + "'");
    return load<T>(in, "'" + path.string() + "'", custom);
}

} // namespace xnas::nn
