#include "proto_mutator.h"

#include <array>
#include <limits>
#include <string_view>
#include <tuple>
#include <vector>

namespace lxe::fuzz {

namespace gp = google::protobuf;

namespace {

// Strings that mean something to lxe, LXD or liblxc, spliced into or replacing a string field: line
// breaks and LXC keys (injection), lxe's own paths, cpuset and hostname edge cases, escapes.
using namespace std::string_view_literals;
constexpr std::array kTokens = {
    "\n"sv,
    "\r"sv,
    "\0"sv,
    "\t"sv,
    "\x7f"sv,
    " "sv,
    "="sv,
    "\nlxc.mount.entry = /etc etc none bind,create=dir 0 0\n"sv,
    "\nlxc.apparmor.profile = unconfined"sv,
    "lxc.init.cmd = /bin/sh"sv,
    ".."sv,
    "/"sv,
    "/.lxe"sv,
    "/.lxe/init"sv,
    "/.lxe/state/"sv,
    "//"sv,
    "../../../etc"sv,
    "0-3,8"sv,
    "-"sv,
    ","sv,
    "0-9999999999"sv,
    "3"sv,
    "8191"sv,
    "localhost"sv,
    "a-"sv,
    "."sv,
    "PATH"sv,
    "ms/"sv,
    "\u2028"sv,
    "\xc2\x85"sv,
    "0.log/"sv,
    "lxe"sv,
};

}  // namespace

std::string valid_utf8(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  const auto byte = [&](size_t i) { return i < value.size() ? static_cast<unsigned char>(value[i]) : 0u; };
  const auto cont = [](unsigned c, unsigned low = 0x80, unsigned high = 0xbf) { return c >= low && c <= high; };
  for (size_t i = 0; i < value.size();) {
    const unsigned c = byte(i);
    size_t n = 0;  // length of a valid sequence starting at i (RFC 3629: no overlongs, no surrogates)
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = cont(byte(i + 1)) ? 2 : 0;
    } else if (c >= 0xe0 && c <= 0xef) {
      const unsigned low = c == 0xe0 ? 0xa0 : 0x80, high = c == 0xed ? 0x9f : 0xbf;
      n = cont(byte(i + 1), low, high) && cont(byte(i + 2)) ? 3 : 0;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const unsigned low = c == 0xf0 ? 0x90 : 0x80, high = c == 0xf4 ? 0x8f : 0xbf;
      n = cont(byte(i + 1), low, high) && cont(byte(i + 2)) && cont(byte(i + 3)) ? 4 : 0;
    }
    if (n == 0) {
      ++i;  // not the start of a valid sequence: drop the byte
      continue;
    }
    out.append(value, i, n);
    i += n;
  }
  return out;
}

namespace {

// A place a mutation can happen: a field of a message, and for a repeated scalar field one element
// of it (index >= 0); index -1 is the field itself (set or clear a message, add or remove elements).
using SlotList = std::vector<std::tuple<gp::Message*, const gp::FieldDescriptor*, int>>;

void collect(gp::Message& message, SlotList& slots, int depth) {
  if (depth > 12) return;
  const gp::Descriptor* d = message.GetDescriptor();
  const gp::Reflection* r = message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const gp::FieldDescriptor* f = d->field(i);
    slots.emplace_back(&message, f, -1);
    if (f->is_repeated()) {
      const int n = r->FieldSize(message, f);
      for (int j = 0; j < n; ++j) {
        if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE)
          collect(*r->MutableRepeatedMessage(&message, f, j), slots, depth + 1);
        else
          slots.emplace_back(&message, f, j);
      }
    } else if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE && r->HasField(message, f)) {
      collect(*r->MutableMessage(&message, f), slots, depth + 1);
    }
  }
}

}  // namespace

void ProtoMutator::mutate_string(std::string& value, bool utf8) {
  const auto token = [&] { return std::string(kTokens[below(kTokens.size())]); };
  switch (below(10)) {
    case 0:
    case 1:
      value = token();
      break;
    case 2:
    case 3:
      value.insert(below(value.size() + 1), token());
      break;
    case 4:
      value.clear();
      break;
    case 5:
      value += value.empty() ? token() : value;
      break;
    default: {
      const size_t max = std::min<size_t>(value.size() * 2 + 64, 4096);
      std::vector<uint8_t> buffer(value.begin(), value.end());
      buffer.resize(max);
      const size_t n = bytes_(buffer.data(), value.size(), max);
      value.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(std::min(n, max)));
    }
  }
  if (utf8) value = valid_utf8(value);
}

int64_t ProtoMutator::interesting_integer(int64_t current) {
  static constexpr std::array<int64_t, 16> kValues = {0,      1,       -1,      2,       100,  1000, 1023,
                                                      1024,   4096,    100000,  262144,  8191, 8192,
                                                      std::numeric_limits<int32_t>::max(),
                                                      std::numeric_limits<int64_t>::max(),
                                                      std::numeric_limits<int64_t>::min()};
  switch (below(4)) {
    case 0: return kValues[below(kValues.size())];
    case 1: return static_cast<int64_t>(static_cast<uint64_t>(current) + 1);
    case 2: return static_cast<int64_t>(static_cast<uint64_t>(current) - 1);
    default: return static_cast<int64_t>((static_cast<uint64_t>(random_()) << 32) ^ random_());
  }
}

void ProtoMutator::mutate(gp::Message& message) {
  SlotList slots;
  collect(message, slots, 0);
  if (slots.empty()) return;
  const auto [m, f, index] = slots[below(slots.size())];
  const gp::Reflection* r = m->GetReflection();
  using F = gp::FieldDescriptor;

  if (f->is_repeated() && index < 0) {
    const int n = r->FieldSize(*m, f);
    if (n > 0 && below(3) == 0) {  // remove one
      r->SwapElements(m, f, static_cast<int>(below(static_cast<size_t>(n))), n - 1);
      r->RemoveLast(m, f);
      return;
    }
    if (n >= 16) return;
    switch (f->cpp_type()) {
      case F::CPPTYPE_MESSAGE: {
        gp::Message* added = r->AddMessage(m, f);
        if (n > 0 && below(2) == 0) added->CopyFrom(r->GetRepeatedMessage(*m, f, static_cast<int>(below(n))));
        return;
      }
      case F::CPPTYPE_STRING: {
        std::string s;
        mutate_string(s, f->type() == F::TYPE_STRING);
        r->AddString(m, f, s);
        return;
      }
      case F::CPPTYPE_INT32: r->AddInt32(m, f, static_cast<int32_t>(interesting_integer(0))); return;
      case F::CPPTYPE_INT64: r->AddInt64(m, f, interesting_integer(0)); return;
      case F::CPPTYPE_UINT32: r->AddUInt32(m, f, static_cast<uint32_t>(interesting_integer(0))); return;
      case F::CPPTYPE_UINT64: r->AddUInt64(m, f, static_cast<uint64_t>(interesting_integer(0))); return;
      case F::CPPTYPE_BOOL: r->AddBool(m, f, true); return;
      case F::CPPTYPE_ENUM: r->AddEnumValue(m, f, f->enum_type()->value(0)->number()); return;
      default: return;
    }
  }

  if (f->is_repeated()) {  // one element of a repeated scalar field
    switch (f->cpp_type()) {
      case F::CPPTYPE_STRING: {
        std::string s = r->GetRepeatedString(*m, f, index);
        mutate_string(s, f->type() == F::TYPE_STRING);
        r->SetRepeatedString(m, f, index, s);
        return;
      }
      case F::CPPTYPE_INT32:
        r->SetRepeatedInt32(m, f, index, static_cast<int32_t>(interesting_integer(r->GetRepeatedInt32(*m, f, index))));
        return;
      case F::CPPTYPE_INT64:
        r->SetRepeatedInt64(m, f, index, interesting_integer(r->GetRepeatedInt64(*m, f, index)));
        return;
      case F::CPPTYPE_UINT32:
        r->SetRepeatedUInt32(m, f, index, static_cast<uint32_t>(interesting_integer(r->GetRepeatedUInt32(*m, f, index))));
        return;
      case F::CPPTYPE_UINT64:
        r->SetRepeatedUInt64(m, f, index,
                             static_cast<uint64_t>(interesting_integer(static_cast<int64_t>(r->GetRepeatedUInt64(*m, f, index)))));
        return;
      case F::CPPTYPE_BOOL: r->SetRepeatedBool(m, f, index, !r->GetRepeatedBool(*m, f, index)); return;
      case F::CPPTYPE_ENUM: {
        const auto* e = f->enum_type();
        r->SetRepeatedEnumValue(m, f, index, e->value(static_cast<int>(below(e->value_count())))->number());
        return;
      }
      default: return;
    }
  }

  switch (f->cpp_type()) {
    case F::CPPTYPE_MESSAGE:
      if (r->HasField(*m, f))
        r->ClearField(m, f);
      else
        r->MutableMessage(m, f);
      return;
    case F::CPPTYPE_STRING: {
      std::string s = r->GetString(*m, f);
      mutate_string(s, f->type() == F::TYPE_STRING);
      r->SetString(m, f, s);
      return;
    }
    case F::CPPTYPE_INT32: r->SetInt32(m, f, static_cast<int32_t>(interesting_integer(r->GetInt32(*m, f)))); return;
    case F::CPPTYPE_INT64: r->SetInt64(m, f, interesting_integer(r->GetInt64(*m, f))); return;
    case F::CPPTYPE_UINT32: r->SetUInt32(m, f, static_cast<uint32_t>(interesting_integer(r->GetUInt32(*m, f)))); return;
    case F::CPPTYPE_UINT64:
      r->SetUInt64(m, f, static_cast<uint64_t>(interesting_integer(static_cast<int64_t>(r->GetUInt64(*m, f)))));
      return;
    case F::CPPTYPE_BOOL: r->SetBool(m, f, !r->GetBool(*m, f)); return;
    case F::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      r->SetEnumValue(m, f, e->value(static_cast<int>(below(e->value_count())))->number());
      return;
    }
    case F::CPPTYPE_DOUBLE: r->SetDouble(m, f, static_cast<double>(interesting_integer(0))); return;
    case F::CPPTYPE_FLOAT: r->SetFloat(m, f, static_cast<float>(interesting_integer(0))); return;
  }
}

}  // namespace lxe::fuzz
