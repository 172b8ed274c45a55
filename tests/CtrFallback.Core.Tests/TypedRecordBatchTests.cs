using CtrFallback.Data;
using FluentAssertions;

namespace CtrFallback.Tests;

public sealed class TypedRecordBatchTests
{
    private static readonly TypedColumnKind[] Kinds = [TypedColumnKind.Number, TypedColumnKind.Text];

    private static readonly ClickLogSchema Schema = new() { Columns = ["click", "site"], Label = "click", Categorical = ["site"] };

    [Fact]
    public void SetTyped_RowsReadTheirOwnRecordOfTheBatch_AndAMissingValueIsEmpty()
    {
        var batch = Batch("a", null);
        var map = new ColumnMap(Schema, Schema.Columns!);
        var first = new ClickLogRow(Schema);
        var second = new ClickLogRow(Schema);

        first.SetTyped(batch, 0);
        second.SetTyped(batch, 1);

        first.TryParse(map, "f.parquet", 1, out var error).Should().BeTrue(error);
        second.TryParse(map, "f.parquet", 2, out error).Should().BeTrue(error);
        (first.Label, first.Categorical(0).ToString()).Should().Be((true, "a"));
        (second.Label, second.Categorical(0).ToString()).Should().Be((false, string.Empty));
        first.NumberOrNaN(0).Should().Be(1);
        double.IsNaN(first.NumberOrNaN(1)).Should().BeTrue();
    }

    [Fact]
    public void SetTyped_ABatchGoesBackToItsPoolOnlyOnceEveryRowSetFromItIsFilledAgain()
    {
        var pool = new Stack<TypedRecordBatch>();
        var batch = Batch("a", "b", pool);
        var first = new ClickLogRow(Schema);
        var second = new ClickLogRow(Schema);
        first.SetTyped(batch, 0);
        second.SetTyped(batch, 1);

        first.Split("1\tc", '\t');

        // The second row still reads from the batch: it must not be handed out to be filled again.
        pool.Should().BeEmpty();
        second.Field(1).ToString().Should().Be("b");
        second.SetTyped(batch, 1);
        pool.Should().BeEmpty();

        second.Split("0\td", '\t');

        pool.Should().ContainSingle().Which.Should().BeSameAs(batch);
        TypedRecordBatch.Rent(pool, Kinds, 4).Should().BeSameAs(batch);
        pool.Should().BeEmpty();
    }

    [Fact]
    public void Rent_APooledBatchOfOtherColumns_IsNotHandedOut()
    {
        var pool = new Stack<TypedRecordBatch>();
        var other = new TypedRecordBatch([TypedColumnKind.Text, TypedColumnKind.Number], 4, pool);
        pool.Push(other);

        var rented = TypedRecordBatch.Rent(pool, Kinds, 4);

        rented.Should().NotBeSameAs(other);
        rented.Columns.Select(c => c.Kind).Should().Equal(Kinds);
        pool.Should().BeEmpty();
    }

    [Fact]
    public void HashColumn_ARepeatedValue_HashesAsItsText_ForEachFieldAndEachFill()
    {
        var schema = new ClickLogSchema { Columns = ["click", "a", "b"], Label = "click", Categorical = ["a", "b"] };
        var hasher = new CtrFallback.Features.FeatureHasher(schema.ToFeatureSchema());
        var batch = TypedRecordBatch.Rent(new Stack<TypedRecordBatch>(), [TypedColumnKind.Number, TypedColumnKind.Text], 4);
        var column = batch.Columns[1];
        Fill(column, "x", "y", "x", null);
        var hashes = new uint[8];

        // Written 2 apart, as the featurizer lays out a row's two fields: the repeat of "x" is the remembered hash.
        batch.HashColumn(1, 0, 4, hasher, 0, hashes, 2);

        new[] { hashes[0], hashes[2], hashes[4], hashes[6] }.Should().Equal(
            hasher.HashCategorical(0, "x"), hasher.HashCategorical(0, "y"), hasher.HashCategorical(0, "x"), hasher.MissingHash(0));

        // The same column read as another field: that field's hashes, not the ones remembered for the first.
        batch.HashColumn(1, 1, 2, hasher, 1, hashes, 1);
        hashes[..2].Should().Equal(hasher.HashCategorical(1, "y"), hasher.HashCategorical(1, "x"));

        // Filled again with other values under the same numbers: their own hashes.
        Fill(column, "z", "w", "z", "w");
        batch.HashColumn(1, 0, 4, hasher, 1, hashes, 1);
        hashes[..4].Should().Equal(hasher.HashCategorical(1, "z"), hasher.HashCategorical(1, "w"), hasher.HashCategorical(1, "z"), hasher.HashCategorical(1, "w"));
    }

    /// <summary>Fills a text column as a typed source does: each distinct value's text once, numbered in order of first row.</summary>
    private static void Fill(TypedRecordBatch.Column column, params string?[] values)
    {
        column.BeginFill();
        var (used, distinct) = (0, new List<string>());
        for (var row = 0; row < values.Length; row++)
        {
            var value = values[row];
            column.Present[row] = value is not null;
            if (value is null)
            {
                (column.Spans[row], column.ValueIds[row]) = (default, -1);
                continue;
            }

            var id = distinct.IndexOf(value);
            if (id < 0)
            {
                value.CopyTo(column.TextBuffer(used, value.Length));
                (id, column.Spans[row]) = (distinct.Count, (used, value.Length));
                used += value.Length;
                distinct.Add(value);
            }
            else
            {
                column.Spans[row] = column.Spans[Array.IndexOf(values, value)];
            }

            column.ValueIds[row] = id;
        }
    }

    /// <summary>A batch of two records: click 1 and 0, and the given sites (null for a missing one).</summary>
    private static TypedRecordBatch Batch(string? site0, string? site1, Stack<TypedRecordBatch>? pool = null)
    {
        var batch = TypedRecordBatch.Rent(pool ?? new Stack<TypedRecordBatch>(), Kinds, 4);
        var (click, site) = (batch.Columns[0], batch.Columns[1]);
        (click.Present[0], click.Numbers[0], click.Present[1], click.Numbers[1]) = (true, 1, true, 0);
        var used = 0;
        foreach (var (row, value) in new[] { (0, site0), (1, site1) })
        {
            site.Present[row] = value is not null;
            if (value is not null)
            {
                value.CopyTo(site.TextBuffer(used, value.Length));
                site.Spans[row] = (used, value.Length);
                used += value.Length;
            }
        }

        return batch;
    }
}
