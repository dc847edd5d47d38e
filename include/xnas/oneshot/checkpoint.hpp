#pragma once
// Supernet checkpoints: the shared weights (and, for DARTS, the architecture logits) after a
// whole number of epochs, written atomically between epochs so that a killed one-shot run
// resumes from its last finished epoch. The supernet-training functions start every epoch from
// the weights alone (oneshot/training.hpp), so that is all a checkpoint needs.
//
// File: one JSON header line {"format": "xnas-supernet", "version": 1, "epochs_done": E,
// "tensors": [{"name", "shape"}...], "payload_bytes", "payload_crc32", "about": {...}}, then the
// tensors' float32 values, little-endian, in order.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>
#include <xnas/core/durable_file.hpp>
#include <xnas/core/error.hpp>
#include <xnas/core/json.hpp>
#include <xnas/nn/layer.hpp>
#include <xnas/nn/serialize.hpp>

namespace xnas {

inline constexpr const char* supernet_checkpoint_format = "xnas-supernet";

/// Writes `tensors` (e.g. a supernet's network().parameters(), running statistics included, and
/// its alpha()) with `epochs_done` and `about` (what the run was: its method, seed...) to `path`,
/// atomically and durably. Throws xnas::file_error naming the path when it cannot.
inline void save_supernet_checkpoint(std::span<const nn::parameter<float>> tensors,
                                     std::size_t epochs_done, const std::filesystem::path& path,
                                     const json::value& about = json::value::object({})) {
    json::value header;
    header["format"] = supernet_checkpoint_format;
    header["version"] = 1;
    header["epochs_done"] = epochs_done;
    header["about"] = about;
    json::value list = json::value::array();
    std::vector<char> payload;
    for (const auto& t : tensors) {
        json::value entry;
        entry["name"] = t.name;
        entry["shape"] = std::vector<std::size_t>(t.value->shape().begin(), t.value->shape().end());
        list.push_back(std::move(entry));
        nn::detail::append_le(payload, t.value->data(), t.value->size());
    }
    header["tensors"] = std::move(list);
    header["payload_bytes"] = payload.size();
    header["payload_crc32"] = nn::detail::crc32_hex(payload);
    std::string bytes = header.dump() + '\n';
    bytes.append(payload.data(), payload.size());
    write_file_atomically(path, bytes);
}

/// What a checkpoint says besides its tensors.
struct supernet_checkpoint_info {
    std::size_t epochs_done = 0;
    json::value about{};
};

/// Reads the checkpoint at `path` into `tensors`, which must have the names and shapes it was
/// saved with (the same supernet, built with the same options). Throws xnas::file_error naming
/// the path and what is wrong (not a checkpoint, damaged, truncated, a tensor whose name or
/// shape differs); `tensors` are left unchanged then.
inline supernet_checkpoint_info
load_supernet_checkpoint(std::span<const nn::parameter<float>> tensors,
                         const std::filesystem::path& path) {
    auto fail = [&](const std::string& why) {
        return file_error("xnas::load_supernet_checkpoint: " + path.string() + ": " + why);
    };
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw fail("cannot open");
    std::string line;
    if (!std::getline(in, line) || in.eof())
        throw fail("truncated: no header line");
    json::value header;
    try {
        header = json::value::parse(line);
    } catch (const std::exception& e) {
        throw fail(std::string("not a supernet checkpoint (header: ") + e.what() + ")");
    }
    try {
        if (!header.contains("format") || !header.at("format").is_string() ||
            header.at("format").get<std::string>() != supernet_checkpoint_format)
            throw fail("not a supernet checkpoint (format is not \"xnas-supernet\")");
        if (header.at("version").get<long long>() != 1)
            throw fail("unsupported version " + header.at("version").dump());
        const std::size_t bytes = header.at("payload_bytes").get<std::size_t>();
        std::ostringstream rest;
        rest << in.rdbuf();
        const std::string payload_text = rest.str();
        if (payload_text.size() != bytes)
            throw fail("damaged: payload has " + std::to_string(payload_text.size()) + " of " +
                       std::to_string(bytes) + " bytes");
        const std::vector<char> payload(payload_text.begin(), payload_text.end());
        if (nn::detail::crc32_hex(payload) != header.at("payload_crc32").get<std::string>())
            throw fail("damaged: payload checksum mismatch");
        const json::value& list = header.at("tensors");
        if (!list.is_array() || list.size() != tensors.size())
            throw fail("holds " + std::to_string(list.is_array() ? list.size() : 0) +
                       " tensors, the supernet has " + std::to_string(tensors.size()) +
                       " (built with other options?)");
        std::size_t offset = 0;
        for (std::size_t k = 0; k < tensors.size(); ++k) {
            const auto name = list.at(k).at("name").get<std::string>();
            const auto shape = list.at(k).at("shape").get<std::vector<std::size_t>>();
            const auto& want = *tensors[k].value;
            if (name != tensors[k].name ||
                shape != std::vector<std::size_t>(want.shape().begin(), want.shape().end()))
                throw fail("tensor " + std::to_string(k) + " is " + name + " " +
                           list.at(k).at("shape").dump() + ", the supernet's is " +
                           tensors[k].name + " (built with other options?)");
            offset += want.size() * sizeof(float);
        }
        if (offset != bytes)
            throw fail("damaged: the tensors need " + std::to_string(offset) +
                       " bytes, the payload has " + std::to_string(bytes));
        offset = 0;
        for (const auto& t : tensors) {
            nn::detail::read_le(payload.data() + offset, t.value->data(), t.value->size());
            offset += t.value->size() * sizeof(float);
        }
        return {header.at("epochs_done").get<std::size_t>(),
                header.contains("about") ? header.at("about") : json::value::object({})};
    } catch (const file_error&) {
        throw;
    } catch (const std::exception& e) {
        throw fail(std::string("bad header: ") + e.what());
    }
}

} // namespace xnas
