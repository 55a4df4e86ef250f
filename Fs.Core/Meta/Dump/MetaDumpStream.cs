using System.Runtime.CompilerServices;
using System.Text.Json;
using Fs.Core.Vfs;

namespace Fs.Core.Meta.Dump;

/// <summary>
/// Dump records as a stream of JSON values, one per line (JSON Lines): written and read one record at a time, so a dump of
/// any size never has to fit in memory.
/// </summary>
public static class MetaDumpStream
{
    /// <summary>Writes every record to <paramref name="output"/>; returns how many were written.</summary>
    public static async Task<long> WriteAsync(IAsyncEnumerable<DumpRecord> records, Stream output, IProgress<long>? progress, CancellationToken ct)
    {
        long count = 0;
        var newline = "\n"u8.ToArray();
        await foreach (var record in records.WithCancellation(ct).ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(output, record, DumpJson.Default.DumpRecord, ct).ConfigureAwait(false);
            await output.WriteAsync(newline, ct).ConfigureAwait(false);
            if (++count % 1024 == 0)
                progress?.Report(count);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
        progress?.Report(count);
        return count;
    }

    /// <summary>
    /// Reads records back, checking the shape every loader relies on: a header of a known version first, then no second
    /// header. A malformed dump is a <see cref="VolumeException"/> naming the record.
    /// </summary>
    public static async IAsyncEnumerable<DumpRecord> ReadAsync(Stream input, [EnumeratorCancellation] CancellationToken ct)
    {
        long count = 0;
        var values = JsonSerializer.DeserializeAsyncEnumerable(input, DumpJson.Default.DumpRecord, topLevelValues: true, ct);
        await using var e = values.GetAsyncEnumerator(ct);
        while (true)
        {
            DumpRecord? record;
            try
            {
                if (!await e.MoveNextAsync().ConfigureAwait(false))
                    break;
                record = e.Current;
            }
            catch (JsonException x)
            {
                throw new VolumeException($"the dump is malformed after record {count}: {x.Message}", x);
            }
            count++;
            switch (record)
            {
                case null:
                    throw new VolumeException($"record {count} of the dump is null");
                case DumpHeader header when count == 1:
                    if (header.Version != DumpHeader.CurrentVersion)
                        throw new VolumeException($"the dump has layout version {header.Version}; this appliance reads version {DumpHeader.CurrentVersion}");
                    break;
                case DumpHeader:
                    throw new VolumeException($"record {count} of the dump is a second header");
                case not DumpHeader when count == 1:
                    throw new VolumeException("the dump does not start with a header record");
            }
            yield return record;
        }
        if (count == 0)
            throw new VolumeException("the dump is empty");
    }
}
