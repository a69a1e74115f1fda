//! Saved segments. The SQL, written once for both engines: `impl_segments!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_segments {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::SegmentStore for $store {
            async fn insert_segment(&self, s: &$crate::SegmentRow, key: &$crate::KeyRow) -> $crate::Result<()> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                insert_keys(&mut tx, &[own_key("segments", s.id, key)?], s.created_at).await?;
                sqlx::query::<$db>("INSERT INTO segments (id, created_by, created_at, sealed) VALUES ($1, $2, $3, $4)")
                    .bind(s.id.to_string())
                    .bind(s.created_by.clone())
                    .bind(s.created_at)
                    .bind(s.sealed.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                tx.commit().await?;
                Ok(())
            }

            async fn segments(&self) -> $crate::Result<Vec<$crate::SegmentRow>> {
                let rows = sqlx::query::<$db>(
                    "SELECT id, created_by, created_at, sealed FROM segments ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(segment_from_row).collect()
            }

            async fn segment(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::SegmentRow>> {
                let row = sqlx::query::<$db>("SELECT id, created_by, created_at, sealed FROM segments WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(segment_from_row).transpose()
            }

            async fn delete_segment(&self, id: uuid::Uuid) -> $crate::Result<bool> {
                let mut tx = self.pool.begin_with($d.begin_write).await?;
                let existed = delete_row_and_key(&mut tx, "segments", id).await?;
                tx.commit().await?;
                Ok(existed)
            }
        }
    };
}

pub(crate) use impl_segments;
