using System.CommandLine;
using Appliance.Configuration;
using Fs.Core.Vfs;

namespace Appliance.Cli;

/// <summary>Opening the whole file system for commands that move data (fsck, gc, warmup, bench): location, key and cache from flags and settings.</summary>
internal static class VolumeOpening
{
    public static Option<string?> EncryptKeyOption() => new("--encrypt-key") { Description = "Key file of an encrypted volume", HelpName = "FILE" };

    public static FileSystemOptions Options(CommandContext context, Option<string?> encryptKey, bool withCache = false)
    {
        var location = context.ResolveLocation();
        return new FileSystemOptions
        {
            MetaUrl = location.MetaUrl,
            StorageUrl = location.StorageGiven ? location.StorageUrl : null,
            CacheDir = withCache ? location.CacheDirectory : null,
            EncryptKeyFile = context.Settings.Get(context.Parse.GetValue(encryptKey), SettingKeys.EncryptKey) is { } key
                ? Path.GetFullPath(key, context.WorkingDirectory)
                : null,
        };
    }

    public static Task<FileSystem> OpenAsync(CommandContext context, Option<string?> encryptKey, CancellationToken ct, bool withCache = false) =>
        FileSystem.OpenAsync(Options(context, encryptKey, withCache), context.LoggerFactory, ct);
}
