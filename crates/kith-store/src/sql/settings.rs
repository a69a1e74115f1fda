//! The database itself: its engine, reachability and settings. The SQL, written once for both engines: `impl_settings!`
//! expands inside `impl_store!` (see `store_impl.rs`), where the row
//! helpers it uses are in scope.

macro_rules! impl_settings {
    ($store:ty, $db:ty, $backend:expr, $d:expr) => {
        #[async_trait::async_trait]
        impl $crate::SettingsStore for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }

            async fn ping(&self) -> $crate::Result<()> {
                sqlx::query::<$db>("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn setting(&self, name: &str) -> $crate::Result<Option<String>> {
                use sqlx::Row;
                let row = sqlx::query::<$db>("SELECT value FROM settings WHERE name = $1")
                    .bind(name.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|r| r.try_get("value")).transpose()?)
            }

            async fn init_setting(&self, name: &str, value: &str) -> $crate::Result<String> {
                sqlx::query::<$db>("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name.to_string())
                    .bind(value.to_string())
                    .execute(&self.pool)
                    .await?;
                self.setting(name).await?.ok_or_else(|| $crate::StoreError::Corrupt(format!("setting {name} vanished")))
            }

            async fn set_setting(&self, name: &str, value: &str) -> $crate::Result<()> {
                sqlx::query::<$db>(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name.to_string())
                .bind(value.to_string())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn remove_setting(&self, name: &str) -> $crate::Result<()> {
                sqlx::query::<$db>("DELETE FROM settings WHERE name = $1").bind(name.to_string()).execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_settings;
