using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Chunks;
using Fs.Core.Meta;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance info PATH</c>: an inode's attributes and, for a regular file, where its data is stored.</summary>
internal static class InfoCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var path = new Argument<string>("PATH") { Description = "Path inside the volume, from its root (e.g. /photos/2024/a.jpg)" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables" };
        var command = new Command("info", "Show an inode's attributes, chunks, slices and block objects") { path, json };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, format) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var target = parse.GetValue(path) ?? "/";
                var resolved = await ResolveAsync(meta, target, token).ConfigureAwait(false);
                if (!resolved.TryGet(out var attr))
                {
                    await context.Error.WriteLineAsync($"error: {target}: {resolved.Error}").ConfigureAwait(false);
                    return ExitCodes.Problems;
                }
                var details = await DescribeAsync(meta, format, target, attr, token).ConfigureAwait(false);
                if (parse.GetValue(json))
                    await CliJson.WriteAsync(context.Output, details).ConfigureAwait(false);
                else
                    Render(context.Console, details);
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    /// <summary>Walks the path from the root as root, one lookup per component.</summary>
    private static async Task<Result<InodeAttr>> ResolveAsync(IMetaEngine meta, string path, CancellationToken ct)
    {
        var current = await meta.GetAttrAsync(FsLimits.RootIno, ct).ConfigureAwait(false);
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!current.TryGet(out var dir))
                return current;
            if (dir.Type != FileType.Directory)
                return Errno.ENOTDIR;
            current = await meta.LookupAsync(Caller.Root, dir.Ino, name, ct).ConfigureAwait(false);
        }
        return current;
    }

    private static async Task<InodeDetails> DescribeAsync(IMetaEngine meta, VolumeFormat format, string path, InodeAttr attr, CancellationToken ct)
    {
        string? symlinkTarget = null;
        if (attr.Type == FileType.Symlink)
        {
            var link = await meta.ReadlinkAsync(attr.Ino, ct).ConfigureAwait(false);
            symlinkTarget = link.Ok ? link.Value : $"<{link.Error}>";
        }

        var chunks = new List<ChunkDetails>();
        var layout = new ChunkLayout(format.BlockSize);
        if (attr.Type == FileType.Regular)
        {
            var count = (attr.Size + ChunkLayout.ChunkSize - 1) / ChunkLayout.ChunkSize;
            for (uint index = 0; index < count; index++)
            {
                var slices = await meta.ReadChunkAsync(attr.Ino, index, ct).ConfigureAwait(false);
                if (!slices.TryGet(out var list))
                    throw new FsException(slices.Error, $"reading chunk {index} of inode {attr.Ino}: {slices.Error}");
                if (list.Count == 0)
                    continue;
                chunks.Add(new ChunkDetails(index, list.Select(s => new SliceDetails(
                    s.Id, s.Pos, s.Length, s.Offset, s.Size,
                    s.Id == 0 ? [] : layout.Blocks(s.Id, s.Size).Select(b => b.ObjectKey).ToList())).ToList()));
            }
        }

        return new InodeDetails(
            path, attr.Ino, attr.Type, Convert.ToString(attr.Mode, 8).PadLeft(4, '0'), attr.Uid, attr.Gid, attr.Nlink, attr.Size,
            attr.Rdev, UnixTime.ToDateTime(attr.Atime), UnixTime.ToDateTime(attr.Mtime), UnixTime.ToDateTime(attr.Ctime),
            attr.Parent, symlinkTarget, chunks);
    }

    private static void Render(IAnsiConsole console, InodeDetails d)
    {
        var attrs = new Table().Border(TableBorder.Rounded).AddColumn("Attribute").AddColumn("Value");
        void Row(string name, string value) => attrs.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("Path", d.Path);
        Row("Inode", d.Inode.ToString(CultureInfo.InvariantCulture));
        Row("Type", d.Type.ToString());
        Row("Mode", d.Mode);
        Row("Owner", string.Create(CultureInfo.InvariantCulture, $"{d.Uid}:{d.Gid}"));
        Row("Links", d.Nlink.ToString(CultureInfo.InvariantCulture));
        Row("Size", string.Create(CultureInfo.InvariantCulture, $"{d.Size} ({ByteSize.Humanize(d.Size)})"));
        if (d.Type is FileType.CharDevice or FileType.BlockDevice)
            Row("Device", string.Create(CultureInfo.InvariantCulture, $"{(d.Rdev >> 8) & 0xFFF}:{(d.Rdev & 0xFF) | ((d.Rdev >> 12) & 0xFFF00)}"));
        Row("Accessed", d.Accessed.ToString("O", CultureInfo.InvariantCulture));
        Row("Modified", d.Modified.ToString("O", CultureInfo.InvariantCulture));
        Row("Changed", d.Changed.ToString("O", CultureInfo.InvariantCulture));
        if (d.Type == FileType.Directory)
            Row("Parent", d.Parent.ToString(CultureInfo.InvariantCulture));
        if (d.SymlinkTarget is not null)
            Row("Target", d.SymlinkTarget);
        console.Write(attrs);

        if (d.Type != FileType.Regular)
            return;
        if (d.Chunks.Count == 0)
        {
            console.WriteLine("No data stored (empty or all holes).");
            return;
        }
        var slices = new Table().Border(TableBorder.Rounded)
            .AddColumn("Chunk").AddColumn("Slice").AddColumn("Pos").AddColumn("Length").AddColumn("Offset").AddColumn("Slice size").AddColumn("Blocks");
        foreach (var chunk in d.Chunks)
        {
            foreach (var s in chunk.Slices)
            {
                slices.AddRow(
                    chunk.Index.ToString(CultureInfo.InvariantCulture),
                    s.Id == 0 ? "hole" : s.Id.ToString(CultureInfo.InvariantCulture),
                    s.Pos.ToString(CultureInfo.InvariantCulture),
                    s.Length.ToString(CultureInfo.InvariantCulture),
                    s.Offset.ToString(CultureInfo.InvariantCulture),
                    s.Size.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join('\n', s.Blocks)));
            }
        }
        console.Write(slices);
    }

    private sealed record InodeDetails(
        string Path, ulong Inode, FileType Type, string Mode, uint Uid, uint Gid, uint Nlink, long Size, uint Rdev,
        DateTime Accessed, DateTime Modified, DateTime Changed, ulong Parent, string? SymlinkTarget, IReadOnlyList<ChunkDetails> Chunks);

    private sealed record ChunkDetails(uint Index, IReadOnlyList<SliceDetails> Slices);

    private sealed record SliceDetails(ulong Id, uint Pos, uint Length, uint Offset, uint Size, IReadOnlyList<string> Blocks);
}
