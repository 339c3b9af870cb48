"""What one GraphQL document may ask for: its size, its depth and its cost.

The size is checked before parsing (the parser's work grows with the text); depth and cost are
one validation rule, so an operation over either limit runs no resolver at all.

The cost estimates the fields an operation resolves: 1 a field, times LIST_FACTOR for every list
around it, and COMPLETION_COST for each completion it starts. Multiplying by lists is what stops
nested introspection (``types { fields { type { fields ...``), whose answer grows
exponentially with its depth while its text does not.
"""

from __future__ import annotations

from typing import Any

from ariadne.types import QueryParser
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    ValidationRule,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
)

from shared.errors import QueryTooComplex, RequestTooLarge

# Root fields that start a completion (tokens, a provider call) cost this much.
COMPLETION_FIELDS = frozenset(
    {"complete", "embed", "submitCompletion", "startStreamCompletion", "completeStream"}
)
COMPLETION_COST = 1000
# How many items a list is assumed to hold.
LIST_FACTOR = 5

Measure = tuple[int, int]  # (depth, cost)


def size_limited_parser(max_chars: int) -> QueryParser:
    """A query parser that refuses documents longer than ``max_chars``."""

    def parse_document(_context: Any, data: dict[str, Any]) -> DocumentNode:
        query = data["query"]
        if len(query) > max_chars:
            raise RequestTooLarge(
                f"the query document is longer than {max_chars} characters",
                details={"max_chars": max_chars, "chars": len(query)},
            )
        return parse(query)

    return parse_document


def operation_limits(max_depth: int, max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields or costing
    more than ``max_cost``."""

    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            schema = self.context.schema
            root = {
                OperationType.QUERY: schema.query_type,
                OperationType.MUTATION: schema.mutation_type,
                OperationType.SUBSCRIPTION: schema.subscription_type,
            }[node.operation]
            # A fragment measures the same wherever it is spread: measure it once, so fragments
            # spreading fragments cannot multiply the work.
            self.measured: dict[tuple[str, bool], Measure] = {}
            depth, cost = self._measure(node.selection_set, root, (), root=True)
            if depth > max_depth:
                self._refuse(node, f"the operation nests {depth} fields deep; at most {max_depth}")
            elif cost > max_cost:
                self._refuse(node, f"the operation costs {cost}; at most {max_cost}")

        def _measure(
            self,
            selection_set: SelectionSetNode | None,
            parent: GraphQLNamedType | None,
            spreading: tuple[str, ...],
            *,
            root: bool = False,
        ) -> Measure:
            depth = cost = 0
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    inner = self._field(selection, parent, spreading, root)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    scope = (
                        self.context.schema.get_type(condition.name.value) if condition else parent
                    )
                    inner = self._measure(selection.selection_set, scope, spreading, root=root)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self._fragment(selection.name.value, spreading, root)
                depth, cost = max(depth, inner[0]), cost + inner[1]
            return depth, cost

        def _field(
            self,
            node: FieldNode,
            parent: GraphQLNamedType | None,
            spreading: tuple[str, ...],
            root: bool,
        ) -> Measure:
            name = node.name.value
            field = _field_definition(parent, name, root)
            if field is None:
                return 0, 0  # __typename, or an unknown field (another rule reports it)
            inner_depth, inner_cost = self._measure(
                node.selection_set, get_named_type(field.type), spreading
            )
            cost = (COMPLETION_COST if root and name in COMPLETION_FIELDS else 1) + inner_cost
            if _is_list(field):
                cost *= LIST_FACTOR
            return inner_depth + 1, cost

        def _fragment(self, name: str, spreading: tuple[str, ...], root: bool) -> Measure:
            key = (name, root)
            if key not in self.measured:
                fragment = self.context.get_fragment(name)
                if fragment is None or name in spreading:
                    return 0, 0  # unknown or cyclic: other rules report it
                scope = self.context.schema.get_type(fragment.type_condition.name.value)
                self.measured[key] = self._measure(
                    fragment.selection_set, scope, (*spreading, name), root=root
                )
            return self.measured[key]

        def _refuse(self, node: OperationDefinitionNode, message: str) -> None:
            error = QueryTooComplex(message)
            self.report_error(GraphQLError(message, node, original_error=error))

    return OperationLimits


def _field_definition(
    parent: GraphQLNamedType | None, name: str, root: bool
) -> GraphQLField | None:
    if root and name == "__schema":
        return SchemaMetaFieldDef
    if root and name == "__type":
        return TypeMetaFieldDef
    fields: dict[str, GraphQLField] = getattr(parent, "fields", {})
    return fields.get(name)


def _is_list(field: GraphQLField) -> bool:
    return is_list_type(get_nullable_type(field.type))
