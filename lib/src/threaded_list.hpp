// Private: a first-in, first-out list threaded through its nodes.
#pragma once

namespace eventlet::detail {

/// A list of nodes that live elsewhere (on a waiting green thread's stack),
/// linked through their own `Next` member, each marked in `Listed` while on
/// it: adding one allocates nothing and cannot fail, which the hub needs in
/// its noexcept paths (a close's notice, a completion's collection). The
/// hub's lists are short, so that remove() walks it.
template <class Node, Node* Node::*Next, bool Node::*Listed>
class ThreadedList {
public:
    bool empty() const noexcept { return first_ == nullptr; }
    /// Adds `node`, which must be on no list, at the end.
    void push_back(Node& node) noexcept
    {
        node.*Next = nullptr;
        node.*Listed = true;
        (last_ != nullptr ? last_->*Next : first_) = &node;
        last_ = &node;
    }
    /// The first node, taken off the list; null if it is empty.
    Node* pop_front() noexcept
    {
        Node* const node = first_;
        if (node != nullptr)
            remove(*node);
        return node;
    }
    /// Takes `node` off the list, if it is on it.
    void remove(Node& node) noexcept
    {
        if (!(node.*Listed))
            return;
        Node* previous = nullptr;
        for (Node* at = first_; at != nullptr; previous = at, at = at->*Next) {
            if (at != &node)
                continue;
            (previous != nullptr ? previous->*Next : first_) = at->*Next;
            if (last_ == at)
                last_ = previous;
            break;
        }
        node.*Next = nullptr;
        node.*Listed = false;
    }

private:
    Node* first_ = nullptr;
    Node* last_ = nullptr;
};

} // namespace eventlet::detail
