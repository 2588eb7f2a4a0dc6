/// \file
/// The input iterator Imap and GreenPile share: results read in order from an owner.
#pragma once

#include <cstddef>
#include <iterator>

namespace eventlet::detail {

/// The iterator of the results of an Imap or a GreenPile; `*it` is the
/// current result. The owner does the work and befriends this class:
///
/// - `value_type& current()`: the current result, or std::logic_error after
///   an advance that threw;
/// - `void advance()`: waits for the next result, rethrowing what its call
///   (or the input) threw;
/// - `bool done() const noexcept`: true once every result has been yielded.
///
/// The iterator only points at its owner, so iterating consumes: every
/// copy moves the same owner on.
template <class Owner>
class ResultIterator {
public:
    /// Iterator traits for an input iterator.
    using iterator_concept = std::input_iterator_tag;
    /// The owner's type of results.
    using value_type = typename Owner::value_type;
    /// Distances between results.
    using difference_type = std::ptrdiff_t;

    ResultIterator() = default;
    /// An iterator at `owner`'s current result (Owner::begin() makes it).
    explicit ResultIterator(Owner& owner) noexcept : owner_(&owner) {}

    /// The current result.
    /// \throws std::logic_error after a `++` that threw (there is none).
    value_type& operator*() const { return owner_->current(); }
    /// A pointer to the current result.
    value_type* operator->() const { return &owner_->current(); }
    /// Waits for the next result. \throws what its call (or the input) threw.
    ResultIterator& operator++()
    {
        owner_->advance();
        return *this;
    }
    /// Same as ++it (an input iterator's post-increment returns nothing).
    void operator++(int) { ++*this; }
    /// True once every result has been yielded (after a `++` that threw,
    /// the next `++` goes on to the following result).
    friend bool operator==(const ResultIterator& it, std::default_sentinel_t) noexcept
    {
        return it.at_end();
    }

private:
    // A member, unlike the friend above, has the access the owner grants.
    bool at_end() const noexcept { return owner_->done(); }

    Owner* owner_ = nullptr;
};

} // namespace eventlet::detail
