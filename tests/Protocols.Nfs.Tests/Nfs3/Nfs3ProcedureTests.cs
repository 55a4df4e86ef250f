using System.Security.Cryptography;
using System.Text;
using Fs.Core.Vfs;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests.Nfs3;

/// <summary>NFSv3 procedures through a real TCP connection to a real server on a real volume.</summary>
public sealed class Nfs3ProcedureTests : NfsServerTest
{
    private const uint Unstable = 0;
    private const uint FileSync = 2;

    [Fact]
    public async Task Mnt_returns_the_root_handle_and_offers_auth_sys_then_auth_none()
    {
        var client = await ConnectAsync();
        var reply = await client.CallAsync(MountProg, 3, 1, w => w.WriteString("/"));
        var r = reply.Reader();
        Assert.Equal(0u, r.ReadUInt32());
        var fh = r.ReadOpaque(64).ToArray();
        Assert.Equal(Nfs3FileHandles.Size, fh.Length);
        Assert.Equal(2u, r.ReadUInt32());
        Assert.Equal((uint)AuthFlavor.Sys, r.ReadUInt32());
        Assert.Equal((uint)AuthFlavor.None, r.ReadUInt32());
        var (status, attr) = await GetAttrAsync(client, fh);
        Assert.Equal(Nfs3Status.Ok, status);
        Assert.Equal(2u, attr.Type);
        Assert.Equal(FsLimits.RootIno, attr.FileId);

        var missing = (await client.CallAsync(MountProg, 3, 1, w => w.WriteString("/nope"))).Reader();
        Assert.Equal(2u, missing.ReadUInt32());
    }

    [Fact]
    public async Task Unstable_writes_then_commit_read_back_and_are_seen_through_the_vfs()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "data.bin");
        var data = RandomNumberGenerator.GetBytes(300_000);
        var w1 = await WriteAsync(client, fh, 0, data[..200_000], Unstable);
        var w2 = await WriteAsync(client, fh, 200_000, data[200_000..], Unstable);
        Assert.Equal(Nfs3Status.Ok, w1.Status);
        Assert.Equal(Unstable, w1.Committed);
        Assert.Equal(200_000u, w1.Count);
        Assert.Equal(w1.Verifier, w2.Verifier);

        var (status, r) = await NfsAsync(client, 21, w => { w.WriteOpaque(fh); w.WriteUInt64(0); w.WriteUInt32(0); });
        Assert.Equal(Nfs3Status.Ok, status);
        SkipWcc(ref r);
        Assert.Equal(w1.Verifier, r.ReadFixedOpaque(8).ToArray());

        var read = await ReadAsync(client, fh, 0, 1 << 20);
        Assert.Equal(data, read.Data);
        Assert.True(read.Eof);

        var ino = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "data.bin")).Value.Ino;
        var handle = (await Fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadOnly)).Value;
        var buffer = new byte[data.Length];
        Assert.Equal(data.Length, (await Fs.ReadAsync(handle, 0, buffer)).Value);
        Assert.Equal(data, buffer);
        await Fs.ReleaseAsync(handle);
    }

    [Fact]
    public async Task A_file_sync_write_is_answered_file_sync_and_a_read_past_the_end_is_eof()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "f");
        var written = await WriteAsync(client, fh, 10, "hello"u8.ToArray(), FileSync);
        Assert.Equal(FileSync, written.Committed);
        var (_, attr) = await GetAttrAsync(client, fh);
        Assert.Equal(15ul, attr.Size);
        var head = await ReadAsync(client, fh, 0, 12);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)'h', (byte)'e' }, head.Data);
        Assert.False(head.Eof);
        var past = await ReadAsync(client, fh, 100, 10);
        Assert.Empty(past.Data);
        Assert.True(past.Eof);
    }

    [Fact]
    public async Task A_read_across_a_hole_and_a_block_edge_ending_unaligned_is_framed_right_for_the_next_call()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "edges.bin");
        const long edge = 4L << 20;
        Assert.Equal(Nfs3Status.Ok, (await WriteAsync(client, fh, 0, "hello"u8.ToArray(), FileSync)).Status);
        Assert.Equal(Nfs3Status.Ok, (await WriteAsync(client, fh, edge - 2, "xyz"u8.ToArray(), FileSync)).Status);

        // Eight zeros of hole, then "xy" from one block and "z" from the next: 11 bytes, so the reply ends padded.
        var read = await ReadAsync(client, fh, edge - 10, 64);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, (byte)'x', (byte)'y', (byte)'z'], read.Data);
        Assert.True(read.Eof);
        var head = await ReadAsync(client, fh, 0, 5);
        Assert.Equal("hello"u8.ToArray(), head.Data);
        Assert.False(head.Eof);
    }

    [Fact]
    public async Task A_reply_tail_is_copied_in_for_a_transport_that_cannot_gather_and_dropped_by_a_rewind()
    {
        var (_, handle) = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "tail.bin", 0x1A4, OpenFlags.ReadWrite)).Value;
        Assert.Equal(10, (await Fs.WriteAsync(handle, 0, "0123456789"u8.ToArray())).Value);

        var reply = XdrWriter.Rent();
        reply.WriteUInt32(10);
        reply.AppendTail((await Fs.ReadViewAsync(handle, 0, 64)).Value);
        Assert.Equal(12, reply.TailLength);
        Assert.Throws<InvalidOperationException>(() => reply.WriteUInt32(1));
        Assert.Equal(4, reply.Head.Length);
        byte[] flat = [0, 0, 0, 10, .. "0123456789"u8, 0, 0];
        Assert.Equal(flat, reply.WrittenMemory.ToArray());
        Assert.Null(reply.Tail);

        reply.Position = 0;
        reply.WriteUInt32(10);
        reply.AppendTail((await Fs.ReadViewAsync(handle, 0, 64)).Value);
        reply.Position = 4;
        Assert.Null(reply.Tail);
        reply.WriteUInt32(7);
        Assert.Equal(new byte[] { 0, 0, 0, 10, 0, 0, 0, 7 }, reply.WrittenMemory.ToArray());
        reply.Return();
        await Fs.ReleaseAsync(handle);
    }

    [Fact]
    public async Task The_write_verifier_changes_after_a_restart_and_handles_stay_valid()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "f");
        var before = await WriteAsync(client, fh, 0, [1, 2, 3], FileSync);
        await RestartAsync();
        var again = await ConnectAsync();
        var after = await WriteAsync(again, fh, 3, [4], FileSync);
        Assert.Equal(Nfs3Status.Ok, after.Status);
        Assert.NotEqual(before.Verifier, after.Verifier);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, (await ReadAsync(again, fh, 0, 10)).Data);
        Assert.Equal(Nfs3Status.Ok, (await GetAttrAsync(again, root)).Status);
    }

    [Fact]
    public async Task A_forged_handle_is_badhandle_and_a_removed_file_is_stale()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "gone");
        var forged = (byte[])fh.Clone();
        forged[24] ^= 1; // the inode number
        Assert.Equal(Nfs3Status.BadHandle, (await GetAttrAsync(client, forged)).Status);
        Assert.Equal(Nfs3Status.BadHandle, (await GetAttrAsync(client, new byte[7])).Status);

        var (removed, _) = await NfsAsync(client, 12, w => { w.WriteOpaque(root); w.WriteString("gone"); });
        Assert.Equal(Nfs3Status.Ok, removed);
        Assert.Equal(Nfs3Status.Stale, (await GetAttrAsync(client, fh)).Status);
        Assert.Equal(Nfs3Status.Stale, (await ReadAsync(client, fh, 0, 10)).Status);
    }

    [Fact]
    public async Task Setattr_with_a_stale_ctime_guard_is_not_sync_and_changes_nothing()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "g", mode: 0x1A4);
        var (_, attr) = await GetAttrAsync(client, fh);
        var (status, _) = await NfsAsync(client, 2, w =>
        {
            w.WriteOpaque(fh);
            WriteSattr(w, mode: 0x1C0);
            w.WriteBool(true);
            w.WriteUInt32((uint)(attr.Ctime / 1_000_000_000) - 5);
            w.WriteUInt32(0);
        });
        Assert.Equal(Nfs3Status.NotSync, status);
        Assert.Equal(0x1A4u, (await GetAttrAsync(client, fh)).Attr.Mode);

        var (ok, _) = await NfsAsync(client, 2, w =>
        {
            w.WriteOpaque(fh);
            WriteSattr(w, mode: 0x1C0, size: 3);
            w.WriteBool(true);
            w.WriteUInt32((uint)(attr.Ctime / 1_000_000_000));
            w.WriteUInt32((uint)(attr.Ctime % 1_000_000_000));
        });
        Assert.Equal(Nfs3Status.Ok, ok);
        var changed = (await GetAttrAsync(client, fh)).Attr;
        Assert.Equal(0x1C0u, changed.Mode);
        Assert.Equal(3ul, changed.Size);
    }

    [Fact]
    public async Task Exclusive_create_retransmitted_with_the_same_verifier_succeeds_and_another_verifier_is_exist()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        byte[] verifier = [1, 2, 3, 4, 5, 6, 7, 8];
        var first = await CreateAsync(client, root, "x", how: 2, verifier: verifier);
        var again = await CreateAsync(client, root, "x", how: 2, verifier: verifier);
        Assert.Equal(Nfs3Status.Ok, first.Status);
        Assert.Equal(Nfs3Status.Ok, again.Status);
        Assert.Equal(first.Handle, again.Handle);
        Assert.Equal(Nfs3Status.Exist, (await CreateAsync(client, root, "x", how: 2, verifier: [9, 9, 9, 9, 9, 9, 9, 9])).Status);
        Assert.Equal(Nfs3Status.Exist, (await CreateAsync(client, root, "x", how: 1)).Status);
        Assert.Equal(Nfs3Status.Ok, (await CreateAsync(client, root, "x", how: 0)).Status);
    }

    [Fact]
    public async Task Readdir_pages_honour_count_and_list_every_entry_exactly_once()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, dir) = await MkdirAsync(client, root, "many");
        var dirIno = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "many")).Value.Ino;
        var expected = new HashSet<string>();
        for (var i = 0; i < 600; i++)
        {
            var name = $"file-{i:D5}-{new string('n', i % 40)}";
            expected.Add(name);
            Assert.True((await Fs.MknodAsync(Caller.Root, dirIno, name, FileType.Regular, 0x1A4)).Ok);
        }
        foreach (var plus in new[] { false, true })
        {
            var seen = new List<string>();
            ulong cookie = 0;
            var verifier = new byte[8];
            var eof = false;
            var calls = 0;
            while (!eof)
            {
                const uint count = 4096;
                var reply = await client.CallAsync(Nfs, 3, plus ? 17u : 16u, w =>
                {
                    w.WriteOpaque(dir);
                    w.WriteUInt64(cookie);
                    w.WriteFixedOpaque(verifier);
                    w.WriteUInt32(plus ? 1024u : count);
                    if (plus)
                        w.WriteUInt32(count);
                });
                Assert.True(reply.Body.Length <= count, $"reply of {reply.Body.Length} bytes for count {count}");
                var r = reply.Reader();
                Assert.Equal(Nfs3Status.Ok, (Nfs3Status)r.ReadUInt32());
                SkipPostOp(ref r);
                verifier = r.ReadFixedOpaque(8).ToArray();
                while (r.ReadBool())
                {
                    r.ReadUInt64();
                    var name = r.ReadString(255);
                    cookie = r.ReadUInt64();
                    if (plus)
                    {
                        SkipPostOp(ref r);
                        Assert.True(r.ReadBool());
                        Assert.Equal(Nfs3FileHandles.Size, r.ReadOpaque(64).Length);
                    }
                    if (name is not ("." or ".."))
                        seen.Add(name);
                }
                eof = r.ReadBool();
                calls++;
            }
            Assert.Equal(expected.Count, seen.Count);
            Assert.Equal(expected, seen.ToHashSet());
            Assert.True(calls > 5, "the listing should have needed several pages");
        }
    }

    [Fact]
    public async Task A_directory_of_100000_entries_lists_completely_with_readdirplus()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, dir) = await MkdirAsync(client, root, "huge");
        var dirIno = (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "huge")).Value.Ino;
        const int count = 100_000;
        for (var i = 0; i < count; i++)
            Assert.True((await Fs.MknodAsync(Caller.Root, dirIno, $"e{i:D6}", FileType.Regular, 0x1A4)).Ok);
        var seen = new HashSet<string>();
        ulong cookie = 0;
        var verifier = new byte[8];
        var eof = false;
        while (!eof)
        {
            var reply = await client.CallAsync(Nfs, 3, 17, w =>
            {
                w.WriteOpaque(dir);
                w.WriteUInt64(cookie);
                w.WriteFixedOpaque(verifier);
                w.WriteUInt32(64 * 1024);
                w.WriteUInt32(1 << 20);
            });
            var r = reply.Reader();
            Assert.Equal(Nfs3Status.Ok, (Nfs3Status)r.ReadUInt32());
            SkipPostOp(ref r);
            verifier = r.ReadFixedOpaque(8).ToArray();
            while (r.ReadBool())
            {
                r.ReadUInt64();
                var name = r.ReadString(255);
                cookie = r.ReadUInt64();
                SkipPostOp(ref r);
                r.ReadBool();
                r.ReadOpaque(64);
                if (name is not ("." or ".."))
                    Assert.True(seen.Add(name), $"{name} listed twice");
            }
            eof = r.ReadBool();
        }
        Assert.Equal(count, seen.Count);
    }

    [Fact]
    public async Task A_readdir_count_too_small_for_one_entry_is_toosmall()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (status, _) = await NfsAsync(client, 16, w => { w.WriteOpaque(root); w.WriteUInt64(0); w.WriteFixedOpaque(new byte[8]); w.WriteUInt32(50); });
        Assert.Equal(Nfs3Status.TooSmall, status);
    }

    [Fact]
    public async Task Access_reflects_the_callers_real_permissions()
    {
        var rootClient = await ConnectAsync();
        var root = await MountAsync(rootClient);
        var (_, fh) = await CreateAsync(rootClient, root, "secret", mode: 0x180);
        var other = await ConnectAsync(uid: 1000, gid: 1000);
        var (status, r) = await NfsAsync(other, 4, w => { w.WriteOpaque(fh); w.WriteUInt32(0x3F); });
        Assert.Equal(Nfs3Status.Ok, status);
        SkipPostOp(ref r);
        Assert.Equal(0u, r.ReadUInt32());
        Assert.Equal(Nfs3Status.Acces, (await ReadAsync(other, fh, 0, 10)).Status);
        Assert.Equal(Nfs3Status.Acces, (await WriteAsync(other, fh, 0, [1], Unstable)).Status);

        var (ownerStatus, ownerBits) = await NfsAsync(rootClient, 4, w => { w.WriteOpaque(fh); w.WriteUInt32(0x3F); });
        SkipPostOp(ref ownerBits);
        Assert.Equal(0x0Du, ownerBits.ReadUInt32() & 0x0D);
        Assert.Equal(Nfs3Status.Ok, ownerStatus);
    }

    [Fact]
    public async Task The_owner_may_write_a_file_it_created_read_only()
    {
        var client = await ConnectAsync(uid: 1000, gid: 1000);
        var root = await MountAsync(client);
        var (status, fh) = await CreateAsync(client, root, "ro", mode: 0x124);
        Assert.Equal(Nfs3Status.Ok, status);
        Assert.Equal(Nfs3Status.Ok, (await WriteAsync(client, fh, 0, [7, 7], FileSync)).Status);
    }

    [Fact]
    public async Task Names_are_created_renamed_linked_and_removed()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, dir) = await MkdirAsync(client, root, "d");
        var (_, file) = await CreateAsync(client, dir, "a");
        Assert.Equal(Nfs3Status.Exist, (await MkdirAsync(client, root, "d")).Status);

        var (linked, _) = await NfsAsync(client, 15, w => { w.WriteOpaque(file); w.WriteOpaque(root); w.WriteString("hard"); });
        Assert.Equal(Nfs3Status.Ok, linked);
        Assert.Equal(2u, (await GetAttrAsync(client, file)).Attr.Nlink);

        var (renamed, _) = await NfsAsync(client, 14, w => { w.WriteOpaque(dir); w.WriteString("a"); w.WriteOpaque(root); w.WriteString(".nfs0000abcd"); });
        Assert.Equal(Nfs3Status.Ok, renamed);
        Assert.Equal(Nfs3Status.NoEnt, (await LookupAsync(client, dir, "a")).Status);
        Assert.Equal(file, (await LookupAsync(client, root, ".nfs0000abcd")).Handle);

        var (symlinked, sr) = await NfsAsync(client, 10, w => { w.WriteOpaque(root); w.WriteString("sl"); WriteSattr(w); w.WriteString("d/target"); });
        Assert.Equal(Nfs3Status.Ok, symlinked);
        Assert.True(sr.ReadBool());
        var link = sr.ReadOpaque(64).ToArray();
        var (readlink, rl) = await NfsAsync(client, 5, w => w.WriteOpaque(link));
        Assert.Equal(Nfs3Status.Ok, readlink);
        SkipPostOp(ref rl);
        Assert.Equal("d/target", rl.ReadString(4096));

        var (fifo, _) = await NfsAsync(client, 11, w => { w.WriteOpaque(root); w.WriteString("p"); w.WriteUInt32(7); WriteSattr(w, mode: 0x1A4); });
        Assert.Equal(Nfs3Status.Ok, fifo);
        var (badType, _) = await NfsAsync(client, 11, w => { w.WriteOpaque(root); w.WriteString("q"); w.WriteUInt32(2); });
        Assert.Equal(Nfs3Status.BadType, badType);

        var (rmdir, _) = await NfsAsync(client, 13, w => { w.WriteOpaque(root); w.WriteString("d"); });
        Assert.Equal(Nfs3Status.Ok, rmdir);
        var (rmMissing, _) = await NfsAsync(client, 12, w => { w.WriteOpaque(root); w.WriteString("missing"); });
        Assert.Equal(Nfs3Status.NoEnt, rmMissing);
        Assert.Equal(Nfs3Status.NameTooLong, (await LookupAsync(client, root, new string('x', 256))).Status);
        Assert.Equal(root, (await LookupAsync(client, root, "..")).Handle);
    }

    [Fact]
    public async Task Fsinfo_fsstat_and_pathconf_report_the_volume()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (status, r) = await NfsAsync(client, 19, w => w.WriteOpaque(root));
        Assert.Equal(Nfs3Status.Ok, status);
        SkipPostOp(ref r);
        Assert.Equal(1u << 20, r.ReadUInt32());
        r.Skip(8);
        Assert.Equal(1u << 20, r.ReadUInt32());
        r.Skip(12);
        Assert.Equal((ulong)FsLimits.MaxFileSize, r.ReadUInt64());
        Assert.Equal(0u, r.ReadUInt32());
        Assert.Equal(1u, r.ReadUInt32());
        Assert.Equal(0x1Bu, r.ReadUInt32());

        var (fsstat, s) = await NfsAsync(client, 18, w => w.WriteOpaque(root));
        Assert.Equal(Nfs3Status.Ok, fsstat);
        SkipPostOp(ref s);
        Assert.True(s.ReadUInt64() > 0);

        var (pathconf, p) = await NfsAsync(client, 20, w => w.WriteOpaque(root));
        Assert.Equal(Nfs3Status.Ok, pathconf);
        SkipPostOp(ref p);
        p.ReadUInt32();
        Assert.Equal(255u, p.ReadUInt32());
    }

    [Fact]
    public async Task Many_writes_in_flight_on_one_connection_all_land()
    {
        var client = await ConnectAsync();
        var root = await MountAsync(client);
        var (_, fh) = await CreateAsync(client, root, "parallel");
        var chunk = 64 * 1024;
        var data = RandomNumberGenerator.GetBytes(chunk * 32);
        var writes = Enumerable.Range(0, 32).Select(i => WriteAsync(client, fh, i * chunk, data[(i * chunk)..((i + 1) * chunk)], Unstable)).ToList();
        foreach (var w in writes)
            Assert.Equal(Nfs3Status.Ok, (await w).Status);
        var reads = Enumerable.Range(0, 4).Select(i => ReadAsync(client, fh, i * data.Length / 4, (uint)(data.Length / 4))).ToList();
        var back = new List<byte>();
        foreach (var r in reads)
            back.AddRange((await r).Data);
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public async Task A_garbled_nfs_argument_is_garbage_args()
    {
        var client = await ConnectAsync();
        var reply = await client.CallAsync(Nfs, 3, 1, w => w.WriteUInt32(200));
        Assert.Equal(RpcAcceptStatus.GarbageArgs, reply.AcceptStatus);
        Assert.Equal(RpcAcceptStatus.ProcUnavail, (await client.CallAsync(Nfs, 3, 22)).AcceptStatus);
        var mismatch = await client.CallAsync(Nfs, 4, 0);
        Assert.Equal(RpcAcceptStatus.ProgMismatch, mismatch.AcceptStatus);
    }
}
