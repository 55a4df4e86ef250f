using System.Globalization;
using System.Text;
using Fs.Core.Vfs;
using Microsoft.AspNetCore.Http;

namespace Protocols.WebDav.Methods;

/// <summary>GET and HEAD: file content with conditional requests and byte ranges (one or many), or an HTML listing of a collection.</summary>
public static class GetHead
{
    private const int MinPieceBytes = 1 << 20;
    private const int MaxPieceBytes = 4 << 20;
    private const int MaxRanges = 64;

    public static async Task HandleAsync(DavRequest r, bool head)
    {
        var resolved = await r.ResolveAsync(r.Path).ConfigureAwait(false);
        if (resolved.Target is not { } target)
        {
            r.Response.StatusCode = DavStatus.FromErrno(resolved.Error == Errno.ENOTDIR ? Errno.ENOENT : resolved.Error);
            return;
        }
        if (await r.CheckIfAsync(resolved).ConfigureAwait(false) != 0)
            return;
        var condition = r.CheckHttpConditions(target, read: true);
        SetValidators(r.Response, target);
        if (condition != 0)
        {
            r.Response.StatusCode = condition;
            return;
        }
        if (target.Type == FileType.Directory)
        {
            await DirectoryListing.WriteAsync(r, target, head).ConfigureAwait(false);
            return;
        }
        if (target.Type != FileType.Regular)
        {
            r.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var opened = await r.Fs.OpenAsync(r.Caller, target.Ino, OpenFlags.ReadOnly, r.Ct).ConfigureAwait(false);
        if (!opened.Ok)
        {
            r.Response.StatusCode = DavStatus.FromErrno(opened.Error);
            return;
        }
        var handle = opened.Value;
        try
        {
            await SendAsync(r, target, handle, head).ConfigureAwait(false);
        }
        finally
        {
            await r.Fs.ReleaseAsync(handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    internal static void SetValidators(HttpResponse response, InodeAttr attr)
    {
        response.Headers.ETag = DavRequest.ETag(attr);
        response.Headers.LastModified = DavXml.HttpDate(UnixTime.ToDateTime(attr.Mtime));
    }

    private static async Task SendAsync(DavRequest r, InodeAttr target, FileHandle handle, bool head)
    {
        var size = target.Size;
        var response = r.Response;
        var contentType = DavProperties.ContentTypeOf(r.Path.Name);
        response.Headers.AcceptRanges = "bytes";
        var ranges = RangesToServe(r, target);
        if (ranges is { Count: 0 })
        {
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            response.Headers.ContentRange = $"bytes */{size}";
            return;
        }
        if (ranges is null)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = contentType;
            response.ContentLength = size;
            if (!head)
                await CopyAsync(r, handle, 0, size).ConfigureAwait(false);
            return;
        }
        response.StatusCode = StatusCodes.Status206PartialContent;
        if (ranges.Count == 1)
        {
            var (start, end) = ranges[0];
            response.ContentType = contentType;
            response.ContentLength = end - start + 1;
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {start}-{end}/{size}");
            if (!head)
                await CopyAsync(r, handle, start, end - start + 1).ConfigureAwait(false);
            return;
        }
        var boundary = Guid.NewGuid().ToString("N");
        response.ContentType = "multipart/byteranges; boundary=" + boundary;
        var parts = ranges.Select(range => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"\r\n--{boundary}\r\nContent-Type: {contentType}\r\nContent-Range: bytes {range.Start}-{range.End}/{size}\r\n\r\n"))).ToList();
        var trailer = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        response.ContentLength = parts.Sum(p => (long)p.Length) + ranges.Sum(x => x.End - x.Start + 1) + trailer.Length;
        if (head)
            return;
        for (var i = 0; i < ranges.Count; i++)
        {
            await response.Body.WriteAsync(parts[i], r.Ct).ConfigureAwait(false);
            await CopyAsync(r, handle, ranges[i].Start, ranges[i].End - ranges[i].Start + 1).ConfigureAwait(false);
        }
        await response.Body.WriteAsync(trailer, r.Ct).ConfigureAwait(false);
    }

    /// <summary>The ranges to send: null for the whole file, an empty list when none is satisfiable, else inclusive ranges.</summary>
    private static List<(long Start, long End)>? RangesToServe(DavRequest r, InodeAttr target)
    {
        var header = r.Request.Headers.Range.ToString();
        if (header.Length == 0 || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
            return null;
        var ifRange = r.Request.Headers.IfRange.ToString();
        if (ifRange.Length > 0)
        {
            var current = ifRange.StartsWith('"') || ifRange.StartsWith("W/", StringComparison.Ordinal)
                ? ifRange == DavRequest.ETag(target)
                : DavRequest.TryDate(ifRange, out var date) && DavRequest.Seconds(target.Mtime) <= date;
            if (!current)
                return null;
        }
        var size = target.Size;
        var ranges = new List<(long, long)>();
        var specs = header[6..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (specs.Length == 0 || specs.Length > MaxRanges)
            return null;
        foreach (var spec in specs)
        {
            var dash = spec.IndexOf('-');
            if (dash < 0)
                return null;
            var first = spec[..dash].Trim();
            var last = spec[(dash + 1)..].Trim();
            long start, end;
            if (first.Length == 0)
            {
                if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix))
                    return null;
                if (suffix == 0 || size == 0)
                    continue;
                start = Math.Max(0, size - suffix);
                end = size - 1;
            }
            else
            {
                if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out start))
                    return null;
                if (last.Length == 0)
                    end = size - 1;
                else if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < start)
                    return null;
                if (start >= size)
                    continue;
                end = Math.Min(end, size - 1);
            }
            ranges.Add((start, end));
        }
        return ranges;
    }

    /// <summary>
    /// Bytes read from the volume into a response at a time: a block of the volume, within bounds, so that a read costs
    /// one metadata look-up per block rather than several and a piece never holds tens of MiB of one connection's memory.
    /// </summary>
    internal static int PieceBytes(FileSystem fs) => Math.Clamp(fs.Format.BlockSize, MinPieceBytes, MaxPieceBytes);

    /// <summary>
    /// Sends [offset, offset + length) of the file. Each piece is read from the volume straight into memory of the response
    /// pipe, so the bytes are copied once on their way from the block cache to the socket; the core's read-ahead keeps the
    /// next blocks loading while a piece goes out.
    /// </summary>
    private static async Task CopyAsync(DavRequest r, FileHandle handle, long offset, long length)
    {
        var writer = r.Response.BodyWriter;
        var piece = PieceBytes(r.Fs);
        while (length > 0)
        {
            var memory = writer.GetMemory((int)Math.Min(piece, length));
            var n = await ReadAsync(r, handle, offset, memory[..(int)Math.Min(memory.Length, length)]).ConfigureAwait(false);
            writer.Advance(n);
            offset += n;
            length -= n;
            var flushed = await writer.FlushAsync(r.Ct).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted)
                throw new OperationCanceledException("the client stopped reading the response", r.Ct);
        }
    }

    private static async Task<int> ReadAsync(DavRequest r, FileHandle handle, long offset, Memory<byte> buffer)
    {
        var read = await r.Fs.ReadAsync(handle, offset, buffer, r.Ct).ConfigureAwait(false);
        if (!read.Ok)
            throw new IOException($"reading inode {handle.Ino} at {offset} failed: {read.Error}");
        if (read.Value == 0)
            throw new IOException($"inode {handle.Ino} ended at {offset}, before the length announced");
        return read.Value;
    }
}
