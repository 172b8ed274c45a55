using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using CtrFallback.Serving;

namespace CtrFallback.InferenceServer;

/// <summary>The HTTP endpoints: one impression, a batch of candidates, readiness, the model, metrics.</summary>
internal sealed class PredictEndpoints(ICtrPredictor predictor, IChampionFollower follower, ImpressionPool impressions, RequestWarmup warmup)
{
    /// <summary>A single impression's body is about 0.5 KiB; anything past this is refused rather than parsed.</summary>
    public const int MaxSingleBodyBytes = 64 * 1024;

    public const int MaxBatchBodyBytes = 4 * 1024 * 1024;

    public const int MaxCandidates = 1_000;

    private static readonly JsonReaderOptions JsonOptions = new() { MaxDepth = 16, CommentHandling = JsonCommentHandling.Disallow };
    private volatile EncodedLabel? _label;

    // Request counts and latencies come from ASP.NET Core's own http.server.request.duration (see Program.cs).
    public Task PredictAsync(HttpContext context) => PredictCoreAsync(context);

    public Task PredictBatchAsync(HttpContext context) => PredictBatchCoreAsync(context);

    public IResult Ready() =>
        !predictor.IsReady ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: "No champion model is loaded yet.")
        : !warmup.IsDone ? Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: "Warming up the request path (CtrFallback:Server:Warmup).")
        : Results.Json(new { status = "ready", modelVersion = predictor.CurrentModel!.Label });

    public IResult Model()
    {
        var current = predictor.CurrentModel;
        return Results.Json(new
        {
            ready = current is not null,
            modelVersion = current?.Label,
            modelName = current?.Version.ModelName,
            version = current?.Version.Version,
            artifactSha256 = current?.Version.ArtifactSha256,
            createdAt = current?.Version.CreatedAt,
            loadedAt = current?.LoadedAt,
            metrics = current?.Version.Metrics,
            serving = follower.Statistics,
            // A pinned server (CtrFallback:Serving:Version, set by a canary's pod template) ignores the alias.
            pinnedVersion = follower.PinnedVersion,
            drift = follower.Drift,
        });
    }

    public async Task<IResult> ReloadAsync(CancellationToken cancellationToken)
    {
        var result = await follower.ReloadAsync(cancellationToken).ConfigureAwait(false);
        return Results.Json(new { outcome = result.Outcome.ToString(), modelVersion = result.Version?.Label, message = result.Message });
    }

    private static async Task<int> ProblemAsync(HttpContext context, int status, string title, string detail)
    {
        await Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context).ConfigureAwait(false);
        return status;
    }

    private static async ValueTask<ReadResult?> ReadBodyAsync(PipeReader reader, long max, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length > max)
            {
                reader.AdvanceTo(result.Buffer.End);
                return null;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private async Task<int> PredictCoreAsync(HttpContext context)
    {
        if (!predictor.IsReady)
        {
            return await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Not ready", "No champion model is loaded yet.").ConfigureAwait(false);
        }

        if (context.Request.ContentLength > MaxSingleBodyBytes)
        {
            return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Request too large", $"An impression body may have at most {MaxSingleBodyBytes} bytes.").ConfigureAwait(false);
        }

        var body = context.Request.BodyReader;
        var read = await ReadBodyAsync(body, MaxSingleBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (read is not { } result)
        {
            return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Request too large", $"An impression body may have at most {MaxSingleBodyBytes} bytes.").ConfigureAwait(false);
        }

        string? error;
        CtrPrediction prediction = default;
        var impression = impressions.Rent();
        try
        {
            error = ScoreOne(result.Buffer, impression, out prediction);
        }
        finally
        {
            impressions.Return(impression);
            body.AdvanceTo(result.Buffer.End);
        }

        if (error is not null)
        {
            return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Malformed impression", error).ConfigureAwait(false);
        }

        WriteSingle(context.Response, prediction);
        return StatusCodes.Status200OK;
    }

    private string? ScoreOne(ReadOnlySequence<byte> json, Impression impression, out CtrPrediction prediction)
    {
        prediction = default;
        try
        {
            var reader = new Utf8JsonReader(json, JsonOptions);
            if (!reader.Read())
            {
                return "the body is empty; send a JSON object of field names and values";
            }

            var error = impressions.Reader.ReadObject(ref reader, impression);
            if (error is not null)
            {
                return error;
            }

            if (reader.Read())
            {
                return "unexpected content after the JSON object";
            }

            prediction = predictor.Predict(impression);
            return null;
        }
        catch (JsonException ex)
        {
            return $"malformed JSON: {ex.Message}";
        }
    }

    private void WriteSingle(HttpResponse response, CtrPrediction prediction)
    {
        // {"ctr":0.123,"modelVersion":"ctr/3"} written straight into the response pipe: no serializer, no strings.
        var label = _label;
        if (label is null || !ReferenceEquals(label.Label, prediction.ModelVersion))
        {
            _label = label = new EncodedLabel(prediction.ModelVersion);
        }

        var writer = response.BodyWriter;
        var span = writer.GetSpan(64 + label.Bytes.Length);
        "{\"ctr\":"u8.CopyTo(span);
        var length = 7;
        prediction.Ctr.TryFormat(span[length..], out var written, "R", CultureInfo.InvariantCulture);
        length += written;
        ",\"modelVersion\":"u8.CopyTo(span[length..]);
        length += 16;
        label.Bytes.CopyTo(span[length..]);
        length += label.Bytes.Length;
        span[length++] = (byte)'}';
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = length;
        writer.Advance(length);
    }

    private async Task<int> PredictBatchCoreAsync(HttpContext context)
    {
        if (!predictor.IsReady)
        {
            return await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Not ready", "No champion model is loaded yet.").ConfigureAwait(false);
        }

        if (context.Request.ContentLength > MaxBatchBodyBytes)
        {
            return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Request too large", $"A batch body may have at most {MaxBatchBodyBytes} bytes.").ConfigureAwait(false);
        }

        var body = context.Request.BodyReader;
        var read = await ReadBodyAsync(body, MaxBatchBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (read is not { } result)
        {
            return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Request too large", $"A batch body may have at most {MaxBatchBodyBytes} bytes.").ConfigureAwait(false);
        }

        var batch = new BatchBuffers(impressions);
        string? error;
        string? label = null;
        try
        {
            error = ScoreBatch(result.Buffer, batch, out label);
        }
        finally
        {
            body.AdvanceTo(result.Buffer.End);
        }

        try
        {
            if (error is not null)
            {
                return await ProblemAsync(context, StatusCodes.Status400BadRequest, "Malformed batch", error).ConfigureAwait(false);
            }

            context.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            writer.WriteStartObject();
            writer.WriteStartArray("ctrs");
            for (var i = 0; i < batch.Count; i++)
            {
                writer.WriteNumberValue(batch.Ctrs[i]);
            }

            writer.WriteEndArray();
            writer.WriteString("modelVersion", label);
            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            return StatusCodes.Status200OK;
        }
        finally
        {
            batch.Dispose();
        }
    }

    private string? ScoreBatch(ReadOnlySequence<byte> json, BatchBuffers batch, out string? label)
    {
        label = null;
        try
        {
            var reader = new Utf8JsonReader(json, JsonOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "expected a JSON object with 'context' and 'candidates'";
            }

            var jsonReader = impressions.Reader;
            var sawCandidates = false;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var isContext = reader.ValueTextEquals("context"u8);
                var isCandidates = reader.ValueTextEquals("candidates"u8);
                reader.Read();
                if (isContext)
                {
                    if (reader.TokenType != JsonTokenType.Null && jsonReader.ReadObject(ref reader, batch.Context) is { } error)
                    {
                        return $"context: {error}";
                    }
                }
                else if (isCandidates)
                {
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return "'candidates' must be an array of JSON objects";
                    }

                    sawCandidates = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (batch.Count == MaxCandidates)
                        {
                            return $"at most {MaxCandidates} candidates per request";
                        }

                        if (jsonReader.ReadObject(ref reader, batch.Add()) is { } error)
                        {
                            return $"candidate {batch.Count - 1}: {error}";
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            if (reader.Read())
            {
                return "unexpected content after the JSON object";
            }

            if (!sawCandidates)
            {
                return "'candidates' is required";
            }

            label = predictor.PredictCandidates(batch.Context, batch.Candidates, batch.Ctrs);
            return null;
        }
        catch (JsonException ex)
        {
            return $"malformed JSON: {ex.Message}";
        }
    }

    /// <summary>A request's pooled impressions and score buffer.</summary>
    private sealed class BatchBuffers(ImpressionPool pool) : IDisposable
    {
        private Impression[] _candidates = ArrayPool<Impression>.Shared.Rent(16);
        private float[] _ctrs = ArrayPool<float>.Shared.Rent(16);

        public Impression Context { get; } = pool.Rent();

        public int Count { get; private set; }

        public ReadOnlySpan<Impression> Candidates => _candidates.AsSpan(0, Count);

        public Span<float> Ctrs => _ctrs.AsSpan(0, Count);

        public Impression Add()
        {
            if (Count == _candidates.Length)
            {
                var bigger = ArrayPool<Impression>.Shared.Rent(Count * 2);
                _candidates.AsSpan(0, Count).CopyTo(bigger);
                ArrayPool<Impression>.Shared.Return(_candidates, clearArray: true);
                _candidates = bigger;
                ArrayPool<float>.Shared.Return(_ctrs);
                _ctrs = ArrayPool<float>.Shared.Rent(Count * 2);
            }

            var impression = pool.Rent();
            _candidates[Count++] = impression;
            return impression;
        }

        public void Dispose()
        {
            pool.Return(Context);
            for (var i = 0; i < Count; i++)
            {
                pool.Return(_candidates[i]);
            }

            ArrayPool<Impression>.Shared.Return(_candidates, clearArray: true);
            ArrayPool<float>.Shared.Return(_ctrs);
        }
    }

    private sealed class EncodedLabel(string label)
    {
        public string Label { get; } = label;

        public byte[] Bytes { get; } = JsonSerializer.SerializeToUtf8Bytes(label);
    }
}
