namespace Protocols.Fuse;

/// <summary>Where and how the volume is mounted through the kernel's FUSE.</summary>
public sealed record FuseMountOptions
{
    /// <summary>An empty directory (created when missing); a dead mount left by a crashed run is cleared first.</summary>
    public required string MountPoint { get; init; }

    /// <summary>Let users other than the mounting one reach the mount.</summary>
    public bool AllowOther { get; init; }

    /// <summary>Let the kernel check permissions from the mode bits before asking (the core checks them either way).</summary>
    public bool DefaultPermissions { get; init; }

    /// <summary>How long the kernel may trust attributes it was given.</summary>
    public TimeSpan AttrTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the kernel may trust a name it looked up.</summary>
    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Threads reading requests, each on its own cloned /dev/fuse descriptor.</summary>
    public int Readers { get; init; } = 4;

    /// <summary>Largest read and write the kernel sends in one request.</summary>
    public int MaxWrite { get; init; } = 1 << 20;

    /// <summary>
    /// How far the kernel reads ahead of a sequential reader (its default for FUSE is 128 KiB, so a 1 MiB read(2) became
    /// eight requests served one after another); 0 leaves the kernel's default. Needs root, like mount(2).
    /// </summary>
    public int ReadAheadBytes { get; init; } = 8 << 20;

    /// <summary>How long a change made through another door waits for the kernel to drop its stale cache.</summary>
    public TimeSpan InvalidationWait { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long Start waits for the kernel's INIT.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
