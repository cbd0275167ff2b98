// simclr::methods::moco: Momentum Contrast (MoCo v2) — queries from an online network against
// keys from its momentum copy and a queue of earlier keys as negatives.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <simclr/backend/memory.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/info_nce.hpp>
#include <simclr/methods/crop_pass.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/gradient_ready.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/optim/ema.hpp>
#include <simclr/optim/kernels.hpp>
#include <simclr/parameter.hpp>
#include <simclr/step_metrics.hpp>
#include <simclr/tensor.hpp>

namespace simclr::methods {

struct moco_options {
  /// m of the key network, θ_k ← m θ_k + (1 − m) θ_q after every optimizer step (constant, as
  /// in MoCo). The paper's 0.999 is made for 200 ImageNet epochs; short runs want less.
  double momentum = 0.99;
  /// K, the keys kept as negatives (the paper's 65 536; a few thousand on small data). It
  /// should be a multiple of the keys a step adds (2N symmetric, N otherwise) — not required.
  index_t queue_size = 4096;
  double temperature = 0.2;  ///< τ of InfoNCE (MoCo v2's 0.2)
  /// Symmetric (default): both views are queries and both keys, each query's positive the
  /// other view's key, and all 2N keys enter the queue (the "MoCo v2+" of solo-learn and
  /// lightly). Off: MoCo v2 as published — the online network sees view 1, the key network
  /// view 2, and N keys enter the queue.
  bool symmetric = true;
};

/// MoCo v2 (He et al. 2020; Chen et al. 2020, arXiv 2003.04297): online encoder f and MLP head
/// g give queries; a key network f', g' that is an exponential moving average of f, g
/// (optim::ema) gives keys, without gradient; InfoNCE (loss::info_nce) contrasts each query
/// with its key and with the K keys of earlier steps kept in a FIFO queue. After the loss the
/// batch's keys replace the oldest ones. Both networks run in training mode.
///
///   methods::moco net{encoders::resnet18({...}), head::mlp<>::v1({.in = 512, .out = 128})};
///   train::fit(net, optimizer, data, policy, {...});
///   net.encoder()   // what linear evaluation and fine-tuning use
///
/// A trainable_model: checkpoints hold the online and the key networks, the queue and its
/// position (counters), so a resumed run continues bit for bit. The optimizer sees the online
/// parameters only.
template <class Encoder, class Head>
class moco {
  static_assert(encoder<Encoder>,
                "simclr: methods::moco: the first part must satisfy simclr::encoder (see "
                "<simclr/concepts.hpp>)");
  static_assert(projection_head<Head>,
                "simclr: methods::moco: the head must satisfy simclr::projection_head");

 public:
  using scalar_type = scalar_of<Encoder>;
  using backend_type = backend_of<Encoder>;
  using tensor_type = tensor<scalar_type, backend_type>;

 private:
  static_assert(same_scalar_as<Head, Encoder>,
                "simclr: methods::moco: the head must satisfy same_scalar_as<Encoder> (make "
                "every part float or every part double)");
  static_assert(same_backend_as<Head, Encoder>,
                "simclr: methods::moco: the head must satisfy same_backend_as<Encoder> (every "
                "part on cpu_t or every part on cuda_t)");

 public:
  /// Throws value_error when the head does not take the encoder's width, for a momentum
  /// outside [0, 1], a queue size < 1 or τ ≤ 0.
  moco(Encoder f, Head g, moco_options options = {})
      : options_(options), loss_({.temperature = options.temperature}), encoder_(std::move(f)),
        head_(std::move(g)), key_encoder_(encoder_), key_head_(head_) {
    if (head_.input_dim() != encoder_.output_dim())
      throw value_error("simclr: methods::moco: the head takes " +
                        std::to_string(head_.input_dim()) + " features but the encoder gives " +
                        std::to_string(encoder_.output_dim()));
    if (!(options_.momentum >= 0.0 && options_.momentum <= 1.0))
      throw value_error("simclr: methods::moco: momentum is " + std::to_string(options_.momentum) +
                        ", expected in [0, 1]");
    if (options_.queue_size < 1)
      throw value_error("simclr: methods::moco: queue_size is " +
                        std::to_string(options_.queue_size) + ", expected ≥ 1");
    queue_ = tensor_type(shape{options_.queue_size, head_.output_dim()});
    position_ = tensor<std::int64_t, cpu_t>(shape{});
    filled_ = tensor<std::int64_t, cpu_t>(shape{});
  }

  /// Queries, keys (no gradient), InfoNCE against the queue, backward through the online
  /// network (gradients zeroed first), then the keys enter the queue. Throws shape_error for a
  /// batch that is not (2N, ...), value_error for a non-finite loss.
  step_metrics forward_backward(const tensor_type& views) {
    check_views(views);
    zero_grad();
    const auto [q, keys] = queries_and_keys(views);
    const auto r = loss_(q, options_.symmetric ? swap_halves(keys) : keys, queue_, filled_.data()[0]);
    const step_metrics m = metrics_of(r);
    (void)encoder_.backward(head_.backward(r.dq));
    enqueue(r.keys);
    return m;
  }

  /// Forward, loss and backward of a multi-crop batch (augment::multi_crop; docs/training.md):
  /// `views` (2N, C, H, W) the global views as above, `local_views` (mN, C, h, w) the small
  /// crops (row j·N + i: crop j of image i). The keys come from the global views only; each
  /// crop is one more query of its image against the key of every global view the two-view
  /// step contrasts (symmetric: both, each once; MoCo v2: view 2's) and the queue — every
  /// crop against the global views, never two crops against each other. The loss is the mean
  /// over all queries (the two-view step's 2N or N, then the crops'), the crops run through
  /// the online network as their own batch (methods::crop_pass: BatchNorm's running statistics
  /// move with the global, then with the local batch) and their gradients are added to the
  /// global pass's; only the global keys enter the queue. With 0 local rows it is
  /// forward_backward(views).
  step_metrics forward_backward(const tensor_type& views, const tensor_type& local_views) {
    if (local_views.numel() == 0) return forward_backward(views);
    check_views(views);
    const index_t n = views.extent(0) / 2;
    if (local_views.rank() != views.rank() || local_views.extent(0) % n != 0 ||
        local_views.extent(1) != views.extent(1))
      throw shape_error("simclr: methods::moco: the local crops have shape " +
                        local_views.shape().to_string() + ", expected (m·" + std::to_string(n) +
                        ", " + std::to_string(views.extent(1)) + ", h, w): m crops of each of the " +
                        std::to_string(n) + " images of the global views " +
                        views.shape().to_string());
    zero_grad();
    const index_t crops = local_views.extent(0), d = queue_.extent(1);
    const auto [qg, kg] = queries_and_keys(views);  // the two-view step's
    const tensor_type ql = crops_.forward(encoder_, head_, local_views);
    // All queries in one batch: [global queries; the crops once per global key they meet],
    // their keys row for row (rows of one InfoNCE batch are independent: the negatives are the
    // queue's), so the global rows are exactly the two-view step's.
    const index_t global_rows = qg.extent(0), meets = options_.symmetric ? 2 : 1;
    const tensor_type kq = options_.symmetric ? swap_halves(kg) : kg;
    tensor_type q(shape{global_rows + meets * crops, d}, uninitialized);
    tensor_type k(q.shape(), uninitialized);
    const std::size_t row = sizeof(scalar_type) * static_cast<std::size_t>(d);
    memory<backend_type>::copy(q.data(), qg.data(), row * static_cast<std::size_t>(global_rows));
    memory<backend_type>::copy(k.data(), kq.data(), row * static_cast<std::size_t>(global_rows));
    for (index_t v = 0; v < meets; ++v) {
      const index_t at = global_rows + v * crops;
      memory<backend_type>::copy(q.data() + at * d, ql.data(), row * static_cast<std::size_t>(crops));
      // Crop j of image i meets the key of image i's global view: row v·N + i of kg (symmetric:
      // view v; MoCo v2: view 2, kg's only rows).
      for (index_t j = 0; j < crops / n; ++j)
        memory<backend_type>::copy(k.data() + (at + j * n) * d, kg.data() + v * n * d,
                                   row * static_cast<std::size_t>(n));
    }
    const auto r = loss_(q, k, queue_, filled_.data()[0]);
    const step_metrics m = metrics_of(r);
    // Two backward passes summed: no gradient is final before the sum (nn::gradients_ready).
    nn::gradient_ready_scope not_yet(nullptr);
    (void)encoder_.backward(head_.backward(rows_of(r.dq, 0, global_rows)));
    tensor_type dql = rows_of(r.dq, global_rows, crops);
    if (meets == 2) {
      const tensor_type again = rows_of(r.dq, global_rows + crops, crops);
      optim::update_kernel<backend_type>::axpy(dql.data(), again.data(), dql.numel(), scalar_type(1));
    }
    crops_.backward_into(dql, parameters());
    enqueue(rows_of(r.keys, 0, global_rows));
    return m;
  }

  /// Moves the key network towards the online one (called by train::fit after each optimizer
  /// step; the momentum is constant).
  void after_step(std::int64_t /*step*/, std::int64_t /*total_steps*/) {
    key_encoder_.update(encoder_, options_.momentum);
    key_head_.update(head_, options_.momentum);
  }

  /// The online parameters (encoder., head.) — what the optimizer updates.
  [[nodiscard]] std::vector<parameter<scalar_type, backend_type>> parameters() {
    return nn::parameters_of<scalar_type, backend_type>(*this);
  }
  /// Online state under encoder./head., the key network's under key.encoder./key.head. (as
  /// buffers), the queue (a buffer) and its write position and fill (counters).
  void visit_state(const nn::state_visitor<scalar_type, backend_type>& f,
                   const std::string& prefix) {
    encoder_.visit_state(f, nn::join_name(prefix, "encoder"));
    head_.visit_state(f, nn::join_name(prefix, "head"));
    key_encoder_.visit_state(f, nn::join_name(prefix, "key.encoder"));
    key_head_.visit_state(f, nn::join_name(prefix, "key.head"));
    f({nn::join_name(prefix, "queue"), nn::state_kind::buffer, parameter_role::weight, &queue_,
       nullptr, nullptr});
    f({nn::join_name(prefix, "queue.position"), nn::state_kind::counter, parameter_role::weight,
       nullptr, nullptr, &position_});
    f({nn::join_name(prefix, "queue.filled"), nn::state_kind::counter, parameter_role::weight,
       nullptr, nullptr, &filled_});
  }
  void zero_grad() { nn::zero_grad_of<scalar_type, backend_type>(*this); }

  /// The representation h = f(x) of the online encoder in evaluation mode.
  [[nodiscard]] tensor_type represent(const tensor_type& x) {
    return encoder_.forward(x, mode::eval);
  }

  [[nodiscard]] Encoder& encoder() noexcept { return encoder_; }
  [[nodiscard]] Head& head() noexcept { return head_; }
  [[nodiscard]] Encoder& key_encoder() noexcept { return key_encoder_.module(); }
  [[nodiscard]] Head& key_head() noexcept { return key_head_.module(); }
  /// The queue (queue_size, D): rows [0, queued()) hold keys, the oldest at queue_position()
  /// once it is full.
  [[nodiscard]] const tensor_type& queue() const noexcept { return queue_; }
  [[nodiscard]] index_t queued() const noexcept { return filled_.data()[0]; }
  [[nodiscard]] index_t queue_position() const noexcept { return position_.data()[0]; }
  [[nodiscard]] const moco_options& options() const noexcept { return options_; }

 private:
  static void check_views(const tensor_type& views) {
    if (views.rank() < 2 || views.extent(0) < 2 || views.extent(0) % 2 != 0)
      throw shape_error("simclr: methods::moco: the two-view batch has shape " +
                        views.shape().to_string() + ", expected (2N, ...) with N ≥ 1");
  }
  /// The queries (online network) and the keys (key network, no gradient) of the global views,
  /// row i of the keys from the same view as row i of the queries. Symmetric: both of all 2N
  /// views; MoCo v2: queries of view 1, keys of view 2.
  std::pair<tensor_type, tensor_type> queries_and_keys(const tensor_type& views) {
    const index_t n = views.extent(0) / 2;
    const bool both = options_.symmetric;
    tensor_type q = head_.forward(encoder_.forward(both ? views : rows_of(views, 0, n), mode::train),
                                  mode::train);
    tensor_type k = key_head_.module().forward(
        key_encoder_.module().forward(both ? views : rows_of(views, n, n), mode::train), mode::train);
    if (q.extent(1) != queue_.extent(1))
      throw shape_error("simclr: methods::moco: the head gives " + std::to_string(q.extent(1)) +
                        " features, the queue holds " + std::to_string(queue_.extent(1)));
    return {std::move(q), std::move(k)};
  }
  static step_metrics metrics_of(const loss::info_nce_result<scalar_type, backend_type>& r) {
    step_metrics m;
    m.loss = r.value;
    m.top1_accuracy = r.top1_accuracy;
    m.mean_entropy = r.mean_entropy;
    if (!std::isfinite(m.loss))
      throw value_error("simclr: methods::moco: the loss is " + std::to_string(m.loss) +
                        " — training diverged (lower the learning rate)");
    return m;
  }
  static std::size_t row_bytes(const tensor_type& t) {
    return static_cast<std::size_t>(t.numel() / std::max<index_t>(1, t.extent(0))) *
           sizeof(scalar_type);
  }
  /// Rows [first, first + count) of t, copied.
  static tensor_type rows_of(const tensor_type& t, index_t first, index_t count) {
    std::vector<index_t> extents(static_cast<std::size_t>(t.rank()));
    for (int a = 0; a < t.rank(); ++a) extents[static_cast<std::size_t>(a)] = t.extent(a);
    extents[0] = count;
    tensor_type out(shape(std::span<const index_t>(extents)), uninitialized);
    memory<backend_type>::copy(out.data(), t.data() + first * (t.numel() / t.extent(0)),
                               row_bytes(t) * static_cast<std::size_t>(count));
    return out;
  }
  /// Rows i and i + N exchanged.
  static tensor_type swap_halves(const tensor_type& t) {
    const index_t n = t.extent(0) / 2, per_row = t.numel() / t.extent(0);
    tensor_type out(t.shape(), uninitialized);
    const std::size_t half = row_bytes(t) * static_cast<std::size_t>(n);
    memory<backend_type>::copy(out.data(), t.data() + n * per_row, half);
    memory<backend_type>::copy(out.data() + n * per_row, t.data(), half);
    return out;
  }
  /// The keys replace the oldest rows of the ring (the newest K when there are more than K).
  void enqueue(const tensor_type& keys) {
    const index_t cap = queue_.extent(0), d = queue_.extent(1);
    index_t rows = keys.extent(0), from = 0;
    if (rows > cap) {
      from = rows - cap;
      rows = cap;
    }
    index_t pos = position_.data()[0];
    while (rows > 0) {
      const index_t chunk = std::min(rows, cap - pos);
      memory<backend_type>::copy(queue_.data() + pos * d, keys.data() + from * d,
                                 sizeof(scalar_type) * static_cast<std::size_t>(chunk * d));
      pos = (pos + chunk) % cap;
      from += chunk;
      rows -= chunk;
      filled_.data()[0] = std::min<std::int64_t>(cap, filled_.data()[0] + chunk);
    }
    position_.data()[0] = pos;
  }

  moco_options options_;
  loss::info_nce<scalar_type, backend_type> loss_;
  Encoder encoder_;
  Head head_;
  optim::ema<Encoder> key_encoder_;  // after encoder_ and head_: copies of them
  optim::ema<Head> key_head_;
  methods::crop_pass<Encoder, Head> crops_;  // multi-crop's small crops (scratch)
  tensor_type queue_;                    // (K, D) unit rows
  tensor<std::int64_t, cpu_t> position_; // the next row to write
  tensor<std::int64_t, cpu_t> filled_;   // rows holding keys
};

}  // namespace simclr::methods
