using System.Text.Json;
using System.Text.Json.Serialization;

namespace CtrFallback.Data;

/// <summary>
/// How to read a click log and which of its columns feed the model: the JSON schema file's content, or a preset.
/// </summary>
public sealed record ClickLogSchema
{
    /// <summary>The field separator.</summary>
    /// <value>The default is a tab.</value>
    public char Separator { get; init; } = '\t';

    /// <summary>Whether the first line of every file names the columns.</summary>
    public bool HasHeader { get; init; }

    /// <summary>Column names in file order, required when there is no header.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>The 0/1 click label column.</summary>
    public string Label { get; init; } = "label";

    /// <summary>Numeric (count) columns.</summary>
    public IReadOnlyList<string> Numeric { get; init; } = [];

    /// <summary>Categorical columns.</summary>
    public IReadOnlyList<string> Categorical { get; init; } = [];

    /// <summary>Columns read and ignored.</summary>
    public IReadOnlyList<string> Ignore { get; init; } = [];

    /// <summary>An optional timestamp column: drives the time-ordered holdout and derives hour-of-day and day-of-week features.</summary>
    public TimestampField? Timestamp { get; init; }

    /// <summary>Pairs (or triples) of categorical columns hashed together.</summary>
    public IReadOnlyList<FieldCross> Crosses { get; init; } = [];

    /// <summary>The hashed feature space has 2^HashBits weights.</summary>
    /// <value>The default is 20 (about a million weights, 4 MB).</value>
    public int HashBits { get; init; } = 20;

    /// <summary>The Criteo Display Advertising Challenge layout: tab-separated, no header, label, I1..I13, C1..C26.</summary>
    public static ClickLogSchema Criteo { get; } = CreateCriteo();

    /// <summary>The Avazu layout: comma-separated with a header, label <c>click</c>, <c>hour</c> as yyMMddHH, <c>id</c> ignored.</summary>
    public static ClickLogSchema Avazu { get; } = new()
    {
        Separator = ',',
        HasHeader = true,
        Label = "click",
        Ignore = ["id"],
        Timestamp = new TimestampField("hour", "yyMMddHH"),
        Categorical =
        [
            "C1", "banner_pos", "site_id", "site_domain", "site_category", "app_id", "app_domain", "app_category",
            "device_id", "device_ip", "device_model", "device_type", "device_conn_type",
            "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21",
        ],
        Crosses = [new("site_id", "banner_pos"), new("app_id", "device_type"), new("C14", "device_conn_type")],
    };

    /// <summary>The model-facing part of this schema: the fields a serving impression carries.</summary>
    public FeatureSchema ToFeatureSchema() => new(Numeric, Categorical, Crosses, HashBits, Timestamp);

    /// <summary>Returns a preset by name (<c>criteo</c> or <c>avazu</c>).</summary>
    /// <param name="name">The preset's name.</param>
    /// <exception cref="ClickLogSchemaException">There is no such preset.</exception>
    public static ClickLogSchema FromPreset(string name) => name?.ToLowerInvariant() switch
    {
        "criteo" => Criteo,
        "avazu" => Avazu,
        _ => throw new ClickLogSchemaException($"Unknown log format '{name}': use 'criteo', 'avazu', or a schema file."),
    };

    /// <summary>Reads a schema from its JSON text and validates it.</summary>
    /// <param name="json">The JSON document (keys: separator, hasHeader, columns, label, numeric, categorical, ignore, timestamp, crosses, hashBits; and evidence, which records why a suggested schema chose what it did and is not read).</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    /// <exception cref="ClickLogSchemaException">The document is not valid JSON or not a valid schema.</exception>
    public static ClickLogSchema Parse(string json, string source = "schema")
    {
        ArgumentNullException.ThrowIfNull(json);
        SchemaDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(json, SchemaJsonContext.Default.SchemaDocument);
        }
        catch (JsonException ex)
        {
            throw new ClickLogSchemaException($"{source}: not a valid schema document: {ex.Message}", ex);
        }

        if (doc is null)
        {
            throw new ClickLogSchemaException($"{source}: the schema document is empty.");
        }

        if (doc.Separator is { Length: not 1 } sep && sep != "\\t")
        {
            throw new ClickLogSchemaException($"{source}: 'separator' must be one character (or \"\\t\"), got '{sep}'.");
        }

        var schema = new ClickLogSchema
        {
            Separator = doc.Separator is null or "\\t" ? '\t' : doc.Separator[0],
            HasHeader = doc.HasHeader ?? false,
            Columns = doc.Columns,
            Label = doc.Label ?? throw new ClickLogSchemaException($"{source}: 'label' is required: name the 0/1 click column."),
            Numeric = doc.Numeric ?? [],
            Categorical = doc.Categorical ?? [],
            Ignore = doc.Ignore ?? [],
            Timestamp = doc.Timestamp is null ? null : new TimestampField(
                doc.Timestamp.Column ?? throw new ClickLogSchemaException($"{source}: 'timestamp.column' is required."),
                doc.Timestamp.Format ?? throw new ClickLogSchemaException($"{source}: 'timestamp.format' is required (for example \"yyMMddHH\" or \"unix\").")),
            Crosses = doc.Crosses?.Select(p => p switch
            {
                [var a, var b] => new FieldCross(a, b),
                [var a, var b, var c] => new FieldCross(a, b, c),
                _ => throw new ClickLogSchemaException($"{source}: each entry of 'crosses' must be a pair or a triple of column names, got [{string.Join(", ", p ?? [])}]."),
            }).ToArray() ?? [],
            HashBits = doc.HashBits ?? 20,
        };
        schema.Validate(source);
        return schema;
    }

    /// <summary>Reads and validates a schema file.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="ClickLogSchemaException">The file is missing or not a valid schema.</exception>
    public static ClickLogSchema Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ClickLogSchemaException($"Schema file '{path}' does not exist.");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Writes the schema as the JSON document <see cref="Parse"/> reads, keys in a fixed order so the same schema gives the same bytes.</summary>
    /// <param name="evidence">Writes the value of an <c>evidence</c> key (why a suggestion chose what it did); none when <see langword="null"/>.</param>
    internal string ToJson(Action<Utf8JsonWriter>? evidence = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("separator", Separator == '\t' ? "\\t" : new string(Separator, 1));
            json.WriteBoolean("hasHeader", HasHeader);
            if (Columns is not null)
            {
                WriteList("columns", Columns);
            }

            json.WriteString("label", Label);
            WriteList("numeric", Numeric);
            WriteList("categorical", Categorical);
            WriteList("ignore", Ignore);
            if (Timestamp is not null)
            {
                json.WriteStartObject("timestamp");
                json.WriteString("column", Timestamp.Field);
                json.WriteString("format", Timestamp.Format);
                json.WriteEndObject();
            }

            json.WriteStartArray("crosses");
            foreach (var cross in Crosses)
            {
                WriteList(null, cross.Fields);
            }

            json.WriteEndArray();
            json.WriteNumber("hashBits", HashBits);
            if (evidence is not null)
            {
                json.WritePropertyName("evidence");
                evidence(json);
            }

            json.WriteEndObject();

            void WriteList(string? name, IReadOnlyList<string> values)
            {
                if (name is null)
                {
                    json.WriteStartArray();
                }
                else
                {
                    json.WriteStartArray(name);
                }

                foreach (var value in values)
                {
                    json.WriteStringValue(value);
                }

                json.WriteEndArray();
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Checks the schema's internal consistency; header-dependent checks happen when a file is opened.</summary>
    /// <param name="source">Where the schema came from, for error messages.</param>
    /// <exception cref="ClickLogSchemaException">The schema is inconsistent.</exception>
    public void Validate(string source = "schema")
    {
        if (HashBits is < FeatureSchema.MinHashBits or > FeatureSchema.MaxHashBits)
        {
            throw new ClickLogSchemaException($"{source}: 'hashBits' must be between {FeatureSchema.MinHashBits} and {FeatureSchema.MaxHashBits}, got {HashBits}.");
        }

        if (!HasHeader && (Columns is null || Columns.Count == 0))
        {
            throw new ClickLogSchemaException($"{source}: 'columns' must list the column names when 'hasHeader' is false.");
        }

        if (Numeric.Count + Categorical.Count == 0)
        {
            throw new ClickLogSchemaException($"{source}: no feature columns: list some in 'numeric' or 'categorical'.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in Numeric.Concat(Categorical).Append(Label).Concat(Timestamp is null ? [] : [Timestamp.Field]))
        {
            if (!seen.Add(name))
            {
                throw new ClickLogSchemaException($"{source}: column '{name}' is used twice (as label, numeric, categorical or timestamp).");
            }
        }

        foreach (var cross in Crosses)
        {
            foreach (var name in cross.Fields)
            {
                if (!Categorical.Contains(name))
                {
                    throw new ClickLogSchemaException($"{source}: cross '{cross}' names '{name}', which is not a categorical column.");
                }
            }
        }

        if (Columns is not null)
        {
            CheckColumnsExist(Columns, source);
        }
    }

    /// <summary>Checks that every column the schema names exists among the file's columns.</summary>
    internal void CheckColumnsExist(IReadOnlyList<string> columns, string source)
    {
        var available = new HashSet<string>(columns, StringComparer.Ordinal);
        foreach (var name in Numeric.Concat(Categorical).Concat(Ignore).Append(Label).Concat(Timestamp is null ? [] : [Timestamp.Field]))
        {
            if (!available.Contains(name))
            {
                var kind = name == Label ? "label" : Numeric.Contains(name) ? "numeric" : Categorical.Contains(name) ? "categorical" : Ignore.Contains(name) ? "ignored" : "timestamp";
                throw new ClickLogSchemaException(
                    $"{source}: unknown column '{name}' (named as {kind}); the columns are: {string.Join(", ", columns)}.");
            }
        }
    }

    private static ClickLogSchema CreateCriteo()
    {
        var numeric = Enumerable.Range(1, 13).Select(i => $"I{i}").ToArray();
        var categorical = Enumerable.Range(1, 26).Select(i => $"C{i}").ToArray();
        return new ClickLogSchema
        {
            Separator = '\t',
            HasHeader = false,
            Columns = ["label", .. numeric, .. categorical],
            Label = "label",
            Numeric = numeric,
            Categorical = categorical,
            Crosses = [new("C6", "C14"), new("C2", "C11"), new("C17", "C20")],
            HashBits = 20,
        };
    }

    internal sealed class SchemaDocument
    {
        public string? Separator { get; set; }

        public bool? HasHeader { get; set; }

        public string[]? Columns { get; set; }

        public string? Label { get; set; }

        public string[]? Numeric { get; set; }

        public string[]? Categorical { get; set; }

        public string[]? Ignore { get; set; }

        public TimestampDocument? Timestamp { get; set; }

        public string[][]? Crosses { get; set; }

        public int? HashBits { get; set; }

        /// <summary>Why a suggested schema chose its crosses and hash bits: kept in the file for people, not read.</summary>
        public JsonElement? Evidence { get; set; }
    }

    internal sealed class TimestampDocument
    {
        public string? Column { get; set; }

        public string? Format { get; set; }
    }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ClickLogSchema.SchemaDocument))]
internal sealed partial class SchemaJsonContext : JsonSerializerContext;

/// <summary>A click-log schema is invalid, or does not fit the file it is applied to.</summary>
public sealed class ClickLogSchemaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ClickLogSchemaException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public ClickLogSchemaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ClickLogSchemaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
