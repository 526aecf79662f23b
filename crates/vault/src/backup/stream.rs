//! The chunked AES-256-GCM stream after the header: the writer and the
//! reader (each chunk's associated data binds the header, its index and
//! whether it is last).

use super::*;

// ---- chunked stream -----------------------------------------------------

/// Buffers plaintext into chunks and seals each. A full chunk is sealed
/// only once more data arrives, so the last chunk (sealed by
/// [`ChunkWriter::finish`] with the last flag) is never empty of the end
/// marker.
pub(super) struct ChunkWriter<'k, W: Write> {
    pub(super) out: W,
    pub(super) key: &'k BackupKey,
    pub(super) hash: [u8; HASH_LEN],
    pub(super) buf: Zeroizing<Vec<u8>>,
    pub(super) index: u64,
    pub(super) written: u64,
}

impl<'k, W: Write> ChunkWriter<'k, W> {
    pub(super) fn new(out: W, key: &'k BackupKey, hash: [u8; HASH_LEN]) -> Self {
        ChunkWriter {
            out,
            key,
            hash,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            index: 0,
            written: 0,
        }
    }

    pub(super) fn write(&mut self, mut data: &[u8]) -> Result<(), VaultError> {
        while !data.is_empty() {
            if self.buf.len() == CHUNK_SIZE {
                self.seal(false)?;
            }
            // Never past the capacity: the buffer must not reallocate and
            // leave plaintext behind.
            let n = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    pub(super) fn seal(&mut self, last: bool) -> Result<(), VaultError> {
        let aad = chunk_aad(&self.hash, self.index, last);
        let sealed = self.key.seal_chunk(self.index, &aad, &self.buf)?;
        self.out
            .write_all(&sealed)
            .map_err(|e| io("cannot write the backup file", e))?;
        self.written += sealed.len() as u64;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    pub(super) fn frame(&mut self, tag: u8, parts: &[&[u8]]) -> Result<(), VaultError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).map_err(|_| VaultError::storage("a record is too large"))?;
        let mut head = [0u8; 5];
        head[0] = tag;
        head[1..].copy_from_slice(&len.to_be_bytes());
        self.write(&head)?;
        for p in parts {
            self.write(p)?;
        }
        Ok(())
    }

    pub(super) fn json_frame<T: Serialize>(
        &mut self,
        tag: u8,
        value: &T,
    ) -> Result<(), VaultError> {
        let json = to_json(value)?;
        self.frame(tag, &[&json])
    }

    pub(super) fn finish(mut self) -> Result<(W, u64), VaultError> {
        self.seal(true)?;
        Ok((self.out, self.written))
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|e| VaultError::Storage(format!("cannot encode a backup record: {e}")))
}

/// Reads and opens the chunks of a backup file in order, handing out the
/// plaintext stream. Chunk positions follow from the chunk size and the
/// file length; the chunk that ends the file must carry the last flag.
pub(super) struct ChunkReader<'a> {
    pub(super) file: File,
    pub(super) key: &'a BackupKey,
    pub(super) hash: [u8; HASH_LEN],
    pub(super) chunk_size: usize,
    pub(super) n_chunks: u64,
    pub(super) last_len: usize,
    pub(super) next: u64,
    pub(super) buf: Zeroizing<Vec<u8>>,
    pub(super) pos: usize,
    pub(super) consumed: u64,
    pub(super) progress: &'a mut dyn FnMut(u64),
}

impl<'a> ChunkReader<'a> {
    /// `file` is positioned right after the header.
    pub(super) fn new(
        file: File,
        key: &'a BackupKey,
        header: &Header,
        file_len: u64,
        progress: &'a mut dyn FnMut(u64),
    ) -> Result<Self, VaultError> {
        let body = file_len
            .checked_sub(HEADER_LEN as u64)
            .filter(|b| *b > 0)
            .ok_or_else(|| corrupt("the file ends right after its header (truncated)"))?;
        let full = header.chunk_size as u64 + TAG_LEN as u64;
        let n_chunks = body.div_ceil(full);
        let last_len = (body - (n_chunks - 1) * full) as usize;
        Ok(ChunkReader {
            file,
            key,
            hash: header.hash,
            chunk_size: header.chunk_size as usize,
            n_chunks,
            last_len,
            next: 0,
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            consumed: HEADER_LEN as u64,
            progress,
        })
    }

    pub(super) fn load_next(&mut self) -> Result<(), VaultError> {
        if self.next == self.n_chunks {
            return Err(corrupt(
                "the content ends before its end marker (the file is truncated)",
            ));
        }
        let i = self.next;
        let last = i + 1 == self.n_chunks;
        let len = if last {
            self.last_len
        } else {
            self.chunk_size + TAG_LEN
        };
        let mut sealed = vec![0u8; len];
        self.file.read_exact(&mut sealed).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt("the file changed while it was being read")
            } else {
                io("cannot read the backup file", e)
            }
        })?;
        let opened = self
            .key
            .open_chunk(i, &chunk_aad(&self.hash, i, last), &sealed);
        let plain = match opened {
            Ok(p) => p,
            Err(_) => {
                // Tell the likely cause: a file cut at a chunk boundary (the
                // chunk opens as a middle chunk) or with bytes appended
                // after its real end (a middle chunk opens as the last).
                let as_other = self
                    .key
                    .open_chunk(i, &chunk_aad(&self.hash, i, !last), &sealed);
                return Err(corrupt(match (as_other.is_ok(), last) {
                    (true, true) => "the file is truncated (it ends between two chunks)".into(),
                    (true, false) => "there is extra data after the end of the backup".into(),
                    _ => format!(
                        "chunk {} of {} is damaged, truncated or out of place",
                        i + 1,
                        self.n_chunks
                    ),
                }));
            }
        };
        if plain.len() > self.chunk_size {
            return Err(corrupt("a chunk is larger than the header allows"));
        }
        self.buf = plain;
        self.pos = 0;
        self.next += 1;
        self.consumed += len as u64;
        (self.progress)(self.consumed);
        Ok(())
    }

    pub(super) fn read_exact(&mut self, mut out: &mut [u8]) -> Result<(), VaultError> {
        while !out.is_empty() {
            if self.pos == self.buf.len() {
                self.load_next()?;
                continue;
            }
            let n = (self.buf.len() - self.pos).min(out.len());
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            out = &mut out[n..];
        }
        Ok(())
    }

    pub(super) fn read_vec(&mut self, len: usize) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let mut v = Zeroizing::new(vec![0u8; len]);
        self.read_exact(&mut v)?;
        Ok(v)
    }

    pub(super) fn read_u32(&mut self) -> Result<u32, VaultError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    pub(super) fn read_json<T: DeserializeOwned>(
        &mut self,
        len: usize,
        what: &str,
    ) -> Result<T, VaultError> {
        if len > MAX_RECORD_BYTES {
            return Err(corrupt(format!("a {what} record is too large")));
        }
        let bytes = self.read_vec(len)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            corrupt(format!(
                "a {what} record is malformed (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// Every chunk read and every byte of the last one consumed.
    pub(super) fn at_end(&self) -> bool {
        self.pos == self.buf.len() && self.next == self.n_chunks
    }
}
