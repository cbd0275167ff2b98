// simclr::nn::sequential: a runtime sequence of layers of any types (type-erased, flat).
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/layer.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// Layers applied in order; backward in reverse. Each layer is stored behind one virtual call
/// per forward/backward (negligible next to the arithmetic) so that a sequence of N layers is
/// one type, not an N-deep template: compile times and error messages stay small. State names
/// are "<index>.<name>" as in torch.nn.Sequential, or the name given to push_back.
template <class T = float, backend Backend = cpu_t>
class sequential {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  sequential() = default;
  /// A deep copy: every layer copied with its own copy constructor (optim::ema's target).
  sequential(const sequential& other) {
    layers_.reserve(other.layers_.size());
    for (const auto& e : other.layers_) layers_.push_back({e.name, e.impl->clone()});
  }
  sequential& operator=(const sequential& other) {
    if (this != &other) *this = sequential(other);
    return *this;
  }
  sequential(sequential&&) noexcept = default;
  sequential& operator=(sequential&&) noexcept = default;
  ~sequential() = default;

  /// Appends a layer (moved in) under `name` (default: its index); returns a reference to it.
  template <layer L>
  L& push_back(L l, std::string name = {}) {
    static_assert(std::is_same_v<typename L::scalar_type, T> &&
                      std::is_same_v<typename L::backend_type, Backend>,
                  "simclr: sequential<T, Backend>: the layer has another scalar type or backend");
    if (name.empty()) name = std::to_string(layers_.size());
    auto m = std::make_unique<model<L>>(std::move(l));
    L& ref = m->layer;
    layers_.push_back({std::move(name), std::move(m)});
    return ref;
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    if (layers_.empty()) return x;
    tensor<T, Backend> y = layers_.front().impl->forward(x, m);
    for (std::size_t i = 1; i < layers_.size(); ++i) y = layers_[i].impl->forward(y, m);
    return y;
  }
  /// The output of the first `count` layers only (e.g. a head's middle layer).
  [[nodiscard]] tensor<T, Backend> forward_prefix(const tensor<T, Backend>& x, mode m,
                                                  std::size_t count) {
    if (count > layers_.size())
      throw error("simclr: sequential::forward_prefix(" + std::to_string(count) + ") of " +
                  std::to_string(layers_.size()) + " layers");
    tensor<T, Backend> y = x;
    for (std::size_t i = 0; i < count; ++i) y = layers_[i].impl->forward(y, m);
    return y;
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (layers_.empty()) return dy;
    tensor<T, Backend> d = layers_.back().impl->backward(dy);
    for (std::size_t i = layers_.size() - 1; i-- > 0;) d = layers_[i].impl->backward(d);
    return d;
  }
  void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) {
    for (auto& e : layers_) e.impl->visit_state(f, join_name(prefix, e.name));
  }

  [[nodiscard]] std::size_t size() const noexcept { return layers_.size(); }
  [[nodiscard]] bool empty() const noexcept { return layers_.empty(); }
  [[nodiscard]] const std::string& name(std::size_t i) const { return layers_.at(i).name; }
  /// The i-th layer as its concrete type; throws if it is another type.
  template <layer L>
  [[nodiscard]] L& at(std::size_t i) {
    auto* m = dynamic_cast<model<L>*>(layers_.at(i).impl.get());
    if (m == nullptr)
      throw error("simclr: sequential::at(" + std::to_string(i) + "): layer '" +
                  layers_[i].name + "' has another type");
    return m->layer;
  }

 private:
  struct concept_base {
    virtual ~concept_base() = default;
    virtual tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) = 0;
    virtual tensor<T, Backend> backward(const tensor<T, Backend>& dy) = 0;
    virtual void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) = 0;
    [[nodiscard]] virtual std::unique_ptr<concept_base> clone() const = 0;
  };
  template <class L>
  struct model final : concept_base {
    explicit model(L l) : layer(std::move(l)) {}
    tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) override {
      return layer.forward(x, m);
    }
    tensor<T, Backend> backward(const tensor<T, Backend>& dy) override {
      return layer.backward(dy);
    }
    void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) override {
      layer.visit_state(f, prefix);
    }
    std::unique_ptr<concept_base> clone() const override { return std::make_unique<model>(layer); }
    L layer;
  };
  struct entry {
    std::string name;
    std::unique_ptr<concept_base> impl;
  };
  std::vector<entry> layers_;
};

}  // namespace simclr::nn
