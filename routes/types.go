package routes

import "ocgo/storage"

type storageSession = storage.Session
