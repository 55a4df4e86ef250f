namespace Fs.Core.Locks;

/// <summary>Settings of the lock manager: how blocked requests wait and how long WebDAV locks may live.</summary>
public sealed record LockManagerOptions
{
    /// <summary>
    /// How often a blocked request retries when no in-process release woke it: releases made by other appliances, and WebDAV
    /// locks that time out, are only noticed this way.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The timeout of a WebDAV lock whose client asked for none.</summary>
    public TimeSpan WebDavDefaultTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The longest timeout a WebDAV client gets; longer requests are shortened to it.</summary>
    public TimeSpan WebDavMaxTimeout { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Whether a WebDAV client asking for an infinite timeout gets one (otherwise it gets <see cref="WebDavMaxTimeout"/>).</summary>
    public bool WebDavAllowInfiniteTimeout { get; init; }

    /// <summary>Whether blocking POSIX requests that would close a wait-for cycle inside this process fail with EDEADLK.</summary>
    public bool DetectDeadlocks { get; init; } = true;

    /// <summary>The clock WebDAV expiry is measured with.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
