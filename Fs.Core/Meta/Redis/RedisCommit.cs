using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

/// <summary>
/// One attempt of a metadata operation: the values it read (each becomes a guard) and the writes it decided on. Committing
/// sends both to one Lua script that applies the writes only if every guarded value is still what was read, so an
/// operation decided in C# (with <see cref="PermissionRules"/>) is atomic with respect to every appliance on the volume.
/// </summary>
/// <remarks>Reads may complete on several threads at once (they are pipelined), so recording them takes a lock.</remarks>
internal sealed class RedisCommit
{
    private readonly Lock _sync = new();
    private readonly List<RedisKey> _keys = [];
    private readonly Dictionary<RedisKey, int> _keyIndex = [];
    private readonly List<RedisValue> _guards = [];
    private readonly List<RedisValue> _ops = [];
    private readonly List<Action<RedisHints>> _onCommit = [];
    private readonly List<Action<RedisHints>> _onConflict = [];
    private int _guardCount;
    private int _opCount;

    /// <summary>Whether this attempt may decide on remembered values (<see cref="RedisHints"/>) instead of reading them.</summary>
    public bool Speculative { get; init; }

    /// <summary>What starts a notice about a directory entry, so it is never read as a list of inodes.</summary>
    public const string EntryMark = "E ";

    /// <summary>Inodes whose attributes or entries this attempt changes; published on the invalidation channel.</summary>
    public HashSet<ulong> Touched { get; } = [];

    /// <summary>Names this attempt adds, removes or points elsewhere; published on the invalidation channel with the name.</summary>
    public HashSet<(ulong Parent, string Name)> EntriesTouched { get; } = [];

    /// <summary>Inodes whose locks this attempt changes; published on the lock channel.</summary>
    public HashSet<ulong> LocksTouched { get; } = [];

    public bool HasWrites
    {
        get
        {
            lock (_sync)
                return _opCount > 0;
        }
    }

    private int Key(RedisKey key)
    {
        if (!_keyIndex.TryGetValue(key, out var index))
        {
            _keys.Add(key);
            index = _keys.Count;
            _keyIndex.Add(key, index);
        }
        return index;
    }

    /// <summary>
    /// Records that <paramref name="command"/> (GET, HGET, EXISTS, HLEN, SISMEMBER, ZSCORE, HEXISTS) on the key returned
    /// <paramref name="seen"/> (null = nil); the commit fails when it returns anything else then.
    /// </summary>
    public void Guard(string command, RedisKey key, RedisValue argument, RedisValue seen)
    {
        lock (_sync)
        {
            _guards.Add(command);
            _guards.Add(Key(key));
            _guards.Add(argument.IsNull ? RedisValue.EmptyString : argument);
            _guards.Add(seen.IsNull ? "n" : "v");
            _guards.Add(seen.IsNull ? RedisValue.EmptyString : seen);
            _guardCount++;
        }
    }

    /// <summary>Guards that a hash counter is still below <paramref name="limit"/> (the inode limit), without pinning its value.</summary>
    public void GuardBelow(RedisKey key, string field, long limit)
    {
        lock (_sync)
        {
            _guards.Add("HLT");
            _guards.Add(Key(key));
            _guards.Add(field);
            _guards.Add("v");
            _guards.Add(limit);
            _guardCount++;
        }
    }

    /// <summary>Adds a write: a plain Redis command on one key, or one of the script's own operations (see <see cref="Script"/>).</summary>
    public void Op(string command, RedisKey key, params ReadOnlySpan<RedisValue> args)
    {
        lock (_sync)
        {
            _ops.Add(command);
            _ops.Add(Key(key));
            _ops.Add(args.Length);
            foreach (var arg in args)
                _ops.Add(arg);
            _opCount++;
        }
    }

    /// <summary>An operation whose extra arguments are keys (the slice-reference hash and the deletion queue).</summary>
    public void OpWithKeys(string command, RedisKey key, RedisKey first, RedisKey second, params ReadOnlySpan<RedisValue> args)
    {
        lock (_sync)
        {
            var a = Key(first);
            var b = Key(second);
            _ops.Add(command);
            _ops.Add(Key(key));
            _ops.Add(args.Length + 2);
            _ops.Add(a);
            _ops.Add(b);
            foreach (var arg in args)
                _ops.Add(arg);
            _opCount++;
        }
    }

    /// <summary>Remembers what the commit wrote once it has succeeded.</summary>
    public void OnCommit(Action<RedisHints> remember)
    {
        lock (_sync)
            _onCommit.Add(remember);
    }

    /// <summary>Forgets a remembered value this attempt relied on, should the commit find something changed.</summary>
    public void OnConflict(Action<RedisHints> forget)
    {
        lock (_sync)
            _onConflict.Add(forget);
    }

    /// <summary>Applies the hint updates for the attempt's outcome: what it wrote after success, forgetting used hints after a conflict.</summary>
    public void Settle(RedisHints hints, bool committed, bool wrote)
    {
        lock (_sync)
        {
            var actions = committed ? wrote ? _onCommit : null : _onConflict;
            if (actions is not null)
                foreach (var action in actions)
                    action(hints);
        }
    }

    /// <summary>Runs the script: true when every guard held and the writes were applied, false when something changed.</summary>
    public async Task<bool> ExecuteAsync(IDatabaseAsync db, RedisChannel? inodeChannel, RedisChannel lockChannel, string origin)
    {
        RedisKey[] keys;
        RedisValue[] args;
        lock (_sync)
        {
            if (inodeChannel is { } channel)
            {
                Publish(channel, Touched, origin);
                foreach (var (parent, name) in EntriesTouched)
                    PublishEntry(channel, parent, name, origin);
            }
            Publish(lockChannel, LocksTouched, origin);
            keys = [.. _keys];
            args = new RedisValue[2 + _guards.Count + _ops.Count];
            args[0] = _guardCount;
            _guards.CopyTo(args, 1);
            args[1 + _guards.Count] = _opCount;
            _ops.CopyTo(args, 2 + _guards.Count);
        }
        var result = await db.ScriptEvaluateAsync(Script, keys, args).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>Checks the guards only (for outcomes that write nothing): true when everything read is still as it was.</summary>
    public async Task<bool> ValidateAsync(IDatabaseAsync db)
    {
        RedisKey[] keys;
        RedisValue[] args;
        lock (_sync)
        {
            if (_guardCount == 0)
                return true;
            keys = [.. _keys];
            args = new RedisValue[2 + _guards.Count];
            args[0] = _guardCount;
            _guards.CopyTo(args, 1);
            args[1 + _guards.Count] = 0;
        }
        var result = await db.ScriptEvaluateAsync(Script, keys, args).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>A name that appeared, went or changed in a directory: "E PARENT ORIGIN NAME" (the name last, as it may hold spaces).</summary>
    private void PublishEntry(RedisChannel channel, ulong parent, string name, string origin)
    {
        _ops.Add("PUBLISH");
        _ops.Add(0);
        _ops.Add(2);
        _ops.Add(channel.ToString());
        _ops.Add(EntryMark + parent.ToString(CultureInfo.InvariantCulture) + " " + origin + " " + name);
        _opCount++;
    }

    /// <summary>
    /// Inodes whose attributes or data changed, one notice per commit and channel, "INO INO ... ORIGIN": every appliance,
    /// this one included, receives and parses each notice, so a create (directory and new file) costs one message rather
    /// than two.
    /// </summary>
    private void Publish(RedisChannel channel, HashSet<ulong> inodes, string origin)
    {
        if (inodes.Count == 0)
            return;
        var notice = new StringBuilder();
        foreach (var ino in inodes)
            notice.Append(ino.ToString(CultureInfo.InvariantCulture)).Append(' ');
        notice.Append(origin);
        _ops.Add("PUBLISH");
        _ops.Add(0);
        _ops.Add(2);
        _ops.Add(channel.ToString());
        _ops.Add(notice.ToString());
        _opCount++;
    }

    /// <summary>
    /// Guards first, then writes. Plain writes are whitelisted commands on KEYS[k]. The script's own operations keep a
    /// chunk's slice references right without a round trip: slices are 24-byte records whose first 12 bytes (id, size)
    /// name the slice in the reference hash, and slice id 0 is a hole that holds no reference.
    /// </summary>
    private const string Script = """
        local a = 1
        local guards = tonumber(ARGV[a]); a = a + 1
        for _ = 1, guards do
          local cmd, k, arg, kind, want = ARGV[a], KEYS[tonumber(ARGV[a + 1])], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
          a = a + 5
          local v
          if cmd == 'GET' then v = redis.call('GET', k)
          elseif cmd == 'HGET' then v = redis.call('HGET', k, arg)
          elseif cmd == 'ZSCORE' then
            v = redis.call('ZSCORE', k, arg)
            if v and kind == 'v' and tonumber(v) == tonumber(want) then v = want end
          elseif cmd == 'EXISTS' then v = tostring(redis.call('EXISTS', k))
          elseif cmd == 'HEXISTS' then v = tostring(redis.call('HEXISTS', k, arg))
          elseif cmd == 'HLEN' then v = tostring(redis.call('HLEN', k))
          elseif cmd == 'SISMEMBER' then v = tostring(redis.call('SISMEMBER', k, arg))
          elseif cmd == 'HLT' then
            if tonumber(redis.call('HGET', k, arg) or '0') >= tonumber(want) then return 0 end
            v = want
          else return redis.error_reply('unknown guard ' .. cmd) end
          if kind == 'n' then
            if v then return 0 end
          elseif v ~= want then return 0 end
        end

        local function dropref(refs, pending, id)
          if string.sub(id, 1, 8) == '\0\0\0\0\0\0\0\0' then return end
          local left = redis.call('HINCRBY', refs, id, -1)
          if left <= 0 then
            redis.call('HDEL', refs, id)
            redis.call('SADD', pending, id)
          end
        end
        local function dropslices(refs, pending, slices)
          for at = 1, #slices, 24 do dropref(refs, pending, string.sub(slices, at, at + 11)) end
        end

        local ops = tonumber(ARGV[a]); a = a + 1
        for _ = 1, ops do
          local cmd, k, n = ARGV[a], KEYS[tonumber(ARGV[a + 1])], tonumber(ARGV[a + 2])
          local args = {}
          for i = 1, n do args[i] = ARGV[a + 2 + i] end
          a = a + 3 + n
          if cmd == 'SET' or cmd == 'DEL' or cmd == 'HSET' or cmd == 'HDEL' or cmd == 'HINCRBY' or cmd == 'ZADD'
            or cmd == 'ZREM' or cmd == 'SADD' or cmd == 'SREM' or cmd == 'APPEND' then
            redis.call(cmd, k, unpack(args))
          elseif cmd == 'PUBLISH' then
            redis.call('PUBLISH', args[1], args[2])
          elseif cmd == 'HAPPEND' then
            redis.call('HSET', k, args[1], (redis.call('HGET', k, args[1]) or '') .. args[2])
          elseif cmd == 'ADDREF' then
            if string.sub(args[1], 1, 8) ~= '\0\0\0\0\0\0\0\0' then redis.call('HINCRBY', k, args[1], 1) end
          elseif cmd == 'DROPREF' then
            dropref(KEYS[tonumber(args[1])], KEYS[tonumber(args[2])], args[3])
          elseif cmd == 'DROPCHUNKS' then
            local refs, pending, from = KEYS[tonumber(args[1])], KEYS[tonumber(args[2])], tonumber(args[3])
            local all = redis.call('HGETALL', k)
            for i = 1, #all, 2 do
              if tonumber(all[i]) >= from then
                dropslices(refs, pending, all[i + 1])
                redis.call('HDEL', k, all[i])
              end
            end
          else return redis.error_reply('unknown operation ' .. cmd) end
        end
        return 1
        """;
}
