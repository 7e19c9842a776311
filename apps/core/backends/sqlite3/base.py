"""Django's SQLite backend with exact decimal results (the embedded default's ENGINE, see config/env.py).

SQLite has no decimal type: a DecimalField is stored and summed as a binary float. Django rounds a plain
column back to the field's places, but returns an expression's value (SUM, COALESCE(SUM …), arithmetic)
with its float residue: the sum of 100.1, -100 and -0.1 comes back as 5.55e-15, not 0. Here every decimal
result with known places is rounded to them, exactly as PostgreSQL's numeric would return it.
"""

from decimal import Decimal

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression):
        converter = super().get_decimalfield_converter(expression)
        places = expression.output_field.decimal_places
        if places is None:
            return converter
        quantum = Decimal(1).scaleb(-places)
        context = expression.output_field.context

        def quantized(value, expression, connection):
            value = converter(value, expression, connection)
            if value is None:
                return None
            value = value.quantize(quantum, context=context)
            return value if value else value.copy_abs()  # a residue of -5e-15 is 0, not -0

        return quantized


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
