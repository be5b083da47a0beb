"""Hypothesis strategies for junk: what a bus or a database may hand over.

Both halves are fed with it: the endpoint as notification fields, the
emitter as backup attributes.
"""

from hypothesis import strategies as st

ANY_CHAR = st.characters(blacklist_categories=())  # lone surrogates too
TEXT = st.text(ANY_CHAR, max_size=40) | st.just('x' * 2**20)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)
