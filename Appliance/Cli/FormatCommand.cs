using System.CommandLine;
using Appliance.Configuration;
using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Appliance.Cli;

/// <summary><c>appliance format</c>: creates a new volume and shows its format.</summary>
internal static class FormatCommand
{
    public const string DefaultName = "appliance";

    public static Command Create(GlobalOptions globals)
    {
        var blockSize = GlobalOptions.Size("--block-size", $"Size of the blocks file data is stored in [default: {ByteSize.Format(VolumeFormat.DefaultBlockSize)}]", 1, 1L << 30);
        var compress = new Option<string>("--compress")
        {
            Description = "Block compression",
            HelpName = "none|lz4|zstd",
            DefaultValueFactory = _ => "none",
        };
        compress.AcceptOnlyFromAmong("none", "lz4", "zstd");
        var encryptKey = new Option<string?>("--encrypt-key")
        {
            Description = "File holding a 32-byte AES-256 key (raw, hex or base64); blocks are encrypted with it",
            HelpName = "FILE",
        };
        var trashDays = new Option<int>("--trash-days") { Description = "Days removed files stay in the trash (0 = no trash)", HelpName = "N" };
        var capacity = GlobalOptions.Size("--capacity", "Capacity limit [default: unlimited]");
        var inodes = new Option<long>("--inodes") { Description = "Inode limit [default: unlimited]", HelpName = "N" };
        trashDays.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--trash-days must not be negative"); });
        inodes.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 0) r.AddError("--inodes must not be negative"); });
        var name = new Argument<string>("NAME")
        {
            Description = "Volume name",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => DefaultName,
        };

        var command = new Command("format", "Format a new volume")
        {
            blockSize, compress, encryptKey, trashDays, capacity, inodes, name,
        };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var location = context.ResolveLocation();
            location.EnsureDataDirectory();
            var format = await FileSystem.FormatAsync(new FormatOptions
            {
                Name = parse.GetValue(name) ?? DefaultName,
                MetaUrl = location.MetaUrl,
                StorageUrl = location.StorageUrl,
                BlockSize = (int)(parse.GetValue(blockSize) ?? VolumeFormat.DefaultBlockSize),
                Compression = parse.GetValue(compress) ?? "none",
                EncryptKeyFile = parse.GetValue(encryptKey) is { } key ? Path.GetFullPath(key, context.WorkingDirectory) : null,
                TrashDays = parse.GetValue(trashDays),
                CapacityBytes = parse.GetValue(capacity) ?? 0,
                InodeLimit = parse.GetValue(inodes),
            }, token).ConfigureAwait(false);
            context.Console.Write(VolumeFormatView.Table(format, UrlDisplay.Redact(location.MetaUrl)));
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
