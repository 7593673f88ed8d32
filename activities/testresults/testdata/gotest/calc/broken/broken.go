package broken

func Broken() int { return undefined }
