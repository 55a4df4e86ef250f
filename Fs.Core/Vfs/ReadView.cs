using System.Collections.Concurrent;
using Fs.Core.Objects;

namespace Fs.Core.Vfs;

/// <summary>
/// The bytes of one read where they already lie, in the block cache's memory (held there until the view is disposed),
/// with holes as runs of zeros: a door that sends a read's data on (an NFS reply, a FUSE reply) gathers these segments
/// into its send instead of copying them into a reply buffer first, which on a sequential stream is a whole extra copy
/// of every byte read. Dispose the view once the data has been sent; the segments must not be used afterwards.
/// </summary>
public sealed class ReadView : IDisposable
{
    /// <summary>Zeros that hole segments point into; a long hole is several segments.</summary>
    private static readonly ReadOnlyMemory<byte> Zeros = new byte[64 * 1024];

    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<ReadView> Pool = new();
    private static int _pooled;

    private readonly List<ReadOnlyMemory<byte>> _segments = [];
    private readonly List<BlockBuffer> _holds = [];
    private bool _rented;

    private ReadView()
    {
    }

    /// <summary>Bytes in the view: the count the read returned.</summary>
    public int Length { get; private set; }

    /// <summary>The bytes, in file order.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Segments => _segments;

    /// <summary>Copies the bytes out, for a transport that needs them in one place; <paramref name="destination"/> holds at least <see cref="Length"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        foreach (var segment in _segments)
        {
            segment.Span.CopyTo(destination);
            destination = destination[segment.Length..];
        }
    }

    internal static ReadView Rent()
    {
        if (Pool.TryDequeue(out var view))
            Interlocked.Decrement(ref _pooled);
        else
            view = new ReadView();
        view._rented = true;
        return view;
    }

    /// <summary>Appends block bytes; the view takes over the caller's hold on <paramref name="owner"/> (null: memory no one reuses).</summary>
    internal void Add(ReadOnlyMemory<byte> data, BlockBuffer? owner)
    {
        if (owner is not null)
            _holds.Add(owner);
        if (data.IsEmpty)
            return;
        _segments.Add(data);
        Length += data.Length;
    }

    internal void AddZeros(int count)
    {
        while (count > 0)
        {
            var n = Math.Min(count, Zeros.Length);
            _segments.Add(Zeros[..n]);
            Length += n;
            count -= n;
        }
    }

    /// <summary>Lets go of the block memory and returns the view for reuse.</summary>
    public void Dispose()
    {
        if (!_rented)
            return;
        _rented = false;
        foreach (var hold in _holds)
            hold.Release();
        _holds.Clear();
        _segments.Clear();
        Length = 0;
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
            Pool.Enqueue(this);
        else
            Interlocked.Decrement(ref _pooled);
    }
}
